/** Shared by the IVR telephony tests: an app Asterisk can fetch TTS prompts from, and flow set-up. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildTestAppWithTelephony, eventually } from './app.js';
import type { AsteriskInstance } from './asterisk.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A TCP port on loopback that is free now. */
export const freeTcpPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });

/**
 * The app on a real Asterisk, listening on loopback (Asterisk fetches TTS prompts from it over
 * HTTP), with espeak-ng and sox run from the stack's root and a TTS cache of its own.
 */
export async function buildIvrTestApp(t: Teardown, asterisk: AsteriskInstance, appName: string, env: Record<string, string> = {}): Promise<{ app: FastifyInstance; cacheDir: string }> {
  const httpPort = await freeTcpPort();
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'ipcc-tts-'));
  t.teardown(() => rmSync(cacheDir, { recursive: true, force: true }));
  const app = await buildTestAppWithTelephony(t, {
    IPCC_ASTERISK_SERVERS: `main=${asterisk.ariUrl.replace('://', `://${asterisk.ariUser}:${asterisk.ariPassword}@`)}`,
    IPCC_ARI_APP: appName,
    IPCC_HTTP_HOST: '127.0.0.1',
    IPCC_HTTP_PORT: String(httpPort),
    IPCC_TTS_COMMAND: `chroot ${asterisk.root} espeak-ng`,
    IPCC_SOX_COMMAND: `chroot ${asterisk.root} sox`,
    IPCC_TTS_CACHE_DIR: cacheDir,
    ...env,
  });
  await app.listen({ host: '127.0.0.1', port: httpPort });
  await eventually(async () => app.telephony?.health().every((h) => h.up), 10000);
  return { app, cacheDir };
}

/** Uploads a flow, publishes it and maps `entry` to it; returns the published version. */
export async function publishFlowAt(app: FastifyInstance, headers: Record<string, string>, flow: { id: string }, entry: string): Promise<number> {
  const up = await app.inject({ method: 'POST', url: `/v1/ivr/flows/${flow.id}/versions`, headers, payload: flow });
  if (up.statusCode !== 201) throw new Error(`upload of ${flow.id}: ${up.body}`);
  const version = (up.json() as { version: number }).version;
  const pub = await app.inject({ method: 'POST', url: `/v1/ivr/flows/${flow.id}/publish`, headers, payload: { version } });
  if (pub.statusCode !== 200) throw new Error(`publish of ${flow.id}: ${pub.body}`);
  const ep = await app.inject({ method: 'PUT', url: `/v1/entry-points/${entry}`, headers, payload: { flowId: flow.id } });
  if (ep.statusCode !== 200) throw new Error(`entry point ${entry}: ${ep.body}`);
  return version;
}
