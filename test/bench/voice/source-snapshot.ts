/**
 * The server under test is the repository's last commit, not the work tree: other developers
 * edit the tree while a benchmark runs (a half-written migration stops the server from starting).
 * `git archive` of HEAD goes into a scratch folder with the work tree's node_modules linked in.
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../helpers/asterisk.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface SourceSnapshot {
  dir: string;
  commit: string;
  /** The subject line of the commit. */
  subject: string;
  remove(): void;
}

export async function snapshotHead(): Promise<SourceSnapshot> {
  const log = await run('git', ['-C', REPO_ROOT, 'log', '-1', '--format=%H %s'], { timeoutMs: 10_000 });
  if (log.code !== 0) throw new Error(`git log failed: ${log.stderr}`);
  const line = log.stdout.trim();
  const commit = line.slice(0, 40);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ipcc-voice-bench-src-'));
  const extract = await run('bash', ['-c', 'git -C "$1" archive "$2" | tar -x -C "$3"', 'archive', REPO_ROOT, commit, dir], { timeoutMs: 60_000 });
  if (extract.code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`git archive failed: ${extract.stderr}`);
  }
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return { dir, commit, subject: line.slice(41), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** How the server under test names an agent's PJSIP endpoint (`agentEndpointId` of its tree). */
export async function loadEndpointNaming(dir: string): Promise<(tenantId: number, agentId: string) => string> {
  const mod = (await import(path.join(dir, 'server/domain/sip-endpoint.ts'))) as { agentEndpointId?: unknown };
  if (typeof mod.agentEndpointId !== 'function') throw new Error('server/domain/sip-endpoint.ts of the snapshot has no agentEndpointId');
  return mod.agentEndpointId as (tenantId: number, agentId: string) => string;
}
