/**
 * The ARI client's failure modes against real peers: a real Asterisk for HTTP statuses and
 * credentials, real sockets for "nobody listens" and "accepts but never answers".
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import t from 'tap';
import { AppError } from '../../server/domain/errors.js';
import { createSilentLogger } from '../../server/infra/logger.js';
import { createAriClient, type AriClientOptions } from '../../server/telephony/ari-client.js';
import { ARI_ERROR } from '../../server/telephony/ari-errors.js';
import { ensureAsterisk, uniqueName, type AsteriskInstance } from '../helpers/asterisk.js';
import { sleep, timed, waitFor } from '../helpers/telephony-wait.js';

const logger = createSilentLogger();

function clientFor(asterisk: AsteriskInstance, overrides: Partial<AriClientOptions> = {}) {
  return createAriClient({
    name: asterisk.name,
    baseUrl: asterisk.ariUrl,
    username: asterisk.ariUser,
    password: asterisk.ariPassword,
    app: uniqueName('client'),
    logger,
    ...overrides,
  });
}

t.test('given a running Asterisk', async (t) => {
  const asterisk = await ensureAsterisk('main');

  await t.test('when we ask for its info then it answers with its version', async (t) => {
    const client = clientFor(asterisk);
    t.teardown(() => client.stop());
    const info = await client.asterisk.info();
    t.match(info.system?.version, /^22\./, 'Asterisk 22');
  });

  await t.test('when we hang up a channel that does not exist then the error is not_found with status 404', async (t) => {
    const client = clientFor(asterisk);
    t.teardown(() => client.stop());
    const { error } = await timed(client.channels.hangup('no-such-channel-' + Date.now()));
    t.ok(error instanceof AppError, 'an AppError');
    const e = error as AppError;
    t.equal(e.kind, 'not_found');
    t.equal(e.code, ARI_ERROR.notFound);
    t.equal(e.details?.['status'], 404);
    t.equal(e.details?.['method'], 'DELETE');
    t.equal(e.retryable, false);
  });

  await t.test('when we send a request ARI rejects then the error is invalid with status 400', async (t) => {
    const client = clientFor(asterisk);
    t.teardown(() => client.stop());
    // Originate without an endpoint: ARI answers 400.
    const { error } = await timed(client.request('POST', '/channels', { query: { app: client.app } }));
    t.ok(error instanceof AppError);
    t.equal((error as AppError).kind, 'invalid');
    t.equal((error as AppError).details?.['status'], 400);
  });

  await t.test('when the password is wrong then REST fails with auth_failed (401) and the event socket stays down saying why', async (t) => {
    const client = clientFor(asterisk, { password: 'wrong-password', backoff: { initialMs: 50, maxMs: 200 } });
    t.teardown(() => client.stop());
    const { error } = await timed(client.asterisk.info());
    t.equal((error as AppError).code, ARI_ERROR.authFailed);
    t.equal((error as AppError).details?.['status'], 401);
    client.start();
    await waitFor(() => client.state().lastError !== undefined, 5_000, 'a connection error');
    t.equal(client.state().up, false);
    t.equal(client.state().lastError?.code, 'ari.ws_rejected');
  });

  await t.test('when two clients with different credentials share the process then each keeps its own', async (t) => {
    const good = clientFor(asterisk);
    const bad = clientFor(asterisk, { password: 'also-wrong' });
    t.teardown(() => Promise.all([good.stop(), bad.stop()]).then(() => undefined));
    const [a, b, c] = await Promise.all([timed(good.asterisk.info()), timed(bad.asterisk.info()), timed(good.asterisk.info())]);
    t.ok(a.value && c.value, 'the good client keeps working');
    t.equal((b.error as AppError).code, ARI_ERROR.authFailed, 'the bad client fails on its own');
  });

  await t.test('when an agent endpoint is pushed over ARI then Asterisk serves it, and deleting it removes it', async (t) => {
    const client = clientFor(asterisk);
    t.teardown(() => client.stop());
    const id = uniqueName('agent');
    t.teardown(async () => {
      for (const type of ['endpoint', 'aor', 'auth']) await client.asterisk.deleteObject('res_pjsip', type, id).catch(() => undefined);
    });
    await client.asterisk.putObject('res_pjsip', 'auth', id, [
      { attribute: 'auth_type', value: 'userpass' },
      { attribute: 'username', value: id },
      { attribute: 'password', value: 'agent-secret' },
    ]);
    await client.asterisk.putObject('res_pjsip', 'aor', id, [{ attribute: 'max_contacts', value: '1' }]);
    const fields = await client.asterisk.putObject('res_pjsip', 'endpoint', id, [
      { attribute: 'auth', value: id },
      { attribute: 'aors', value: id },
      { attribute: 'context', value: 'ipcc-inbound' },
      { attribute: 'disallow', value: 'all' },
      { attribute: 'allow', value: 'ulaw' },
    ]);
    t.ok(fields.some((f) => f.attribute === 'aors' && f.value === id), 'Asterisk echoes the stored endpoint');
    const endpoint = await client.request<{ technology: string; resource: string }>('GET', `/endpoints/PJSIP/${id}`);
    t.same([endpoint.technology, endpoint.resource], ['PJSIP', id], 'the endpoint exists (sorcery maps it to astdb)');
    await client.asterisk.deleteObject('res_pjsip', 'endpoint', id);
    // Asterisk drops the endpoint from its registry a moment after the sorcery delete returns.
    let error: unknown;
    for (let i = 0; i < 40; i++) {
      ({ error } = await timed(client.request('GET', `/endpoints/PJSIP/${id}`)));
      if (error !== undefined) break;
      await sleep(50);
    }
    t.equal((error as AppError | undefined)?.kind, 'not_found', 'gone after delete');
  });

  await t.test('when the client starts then it reports up only once its app is registered', async (t) => {
    const client = clientFor(asterisk);
    t.teardown(() => client.stop());
    const changes: boolean[] = [];
    client.onConnectionChange((c) => changes.push(c.up));
    client.start();
    t.ok(await client.waitUntilUp(10_000));
    const application = await client.applications.get(client.app);
    t.equal(application.name, client.app, 'Asterisk knows our application');
    t.same(changes, [true]);
    await client.stop();
    t.equal(client.state().up, false, 'down after stop');
    const { error } = await timed(client.asterisk.info());
    t.equal((error as AppError).code, ARI_ERROR.stopped, 'a stopped client refuses requests');
  });
});

t.test('given nothing listens on the ARI port when a request is made then it fails fast as unavailable', async (t) => {
  const port = await unusedPort();
  const client = createAriClient({
    name: 'nowhere',
    baseUrl: `http://127.0.0.1:${port}`,
    username: 'x',
    password: 'y',
    app: uniqueName('nowhere'),
    logger,
    requestTimeoutMs: 5_000,
  });
  t.teardown(() => client.stop());
  const { ms, error } = await timed(client.asterisk.info());
  t.equal((error as AppError).kind, 'unavailable');
  t.equal((error as AppError).code, ARI_ERROR.unreachable);
  t.equal((error as AppError).details?.['transport'], 'ECONNREFUSED');
  t.ok(ms < 500, `failed in ${ms.toFixed(0)} ms`);
});

t.test('given a server that accepts connections but never answers when a request is made then it times out at its limit', async (t) => {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  const port = (server.address() as { port: number }).port;
  const client = createAriClient({
    name: 'silent',
    baseUrl: `http://127.0.0.1:${port}`,
    username: 'x',
    password: 'y',
    app: uniqueName('silent'),
    logger,
    requestTimeoutMs: 800,
    connectTimeoutMs: 500,
    backoff: { initialMs: 100, maxMs: 300 },
  });
  t.teardown(() => client.stop());
  const { ms, error } = await timed(client.asterisk.info());
  t.equal((error as AppError).kind, 'timeout');
  t.equal((error as AppError).code, ARI_ERROR.timeout);
  t.ok(ms >= 780 && ms < 1_500, `timed out after ${ms.toFixed(0)} ms (limit 800)`);
  const perRequest = await timed(client.request('GET', '/asterisk/info', { timeoutMs: 200 }));
  t.ok(perRequest.ms >= 190 && perRequest.ms < 700, `a per-request limit wins (${perRequest.ms.toFixed(0)} ms)`);

  client.start();
  await waitFor(() => client.state().lastError !== undefined, 3_000, 'the websocket handshake to time out');
  t.equal(client.state().up, false, 'the event socket is not up against a silent server');
});

t.test('given a slow server when more requests run at once than the pool has connections then the extra ones wait for a connection and none fails', async (t) => {
  let open = 0;
  let peak = 0;
  const sockets = new Set<Socket>();
  const server = createHttpServer((req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ system: { version: '22.0.0' } }));
    }, 150);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    open += 1;
    peak = Math.max(peak, open);
    s.on('close', () => {
      open -= 1;
      sockets.delete(s);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  const port = (server.address() as { port: number }).port;
  const make = (connections?: number) =>
    createAriClient({
      name: 'slow', baseUrl: `http://127.0.0.1:${port}`, username: 'x', password: 'y', app: uniqueName('slow'), logger, requestTimeoutMs: 5_000,
      ...(connections !== undefined ? { connections } : {}),
    });

  const small = make(4);
  const answers = await Promise.all(Array.from({ length: 12 }, () => small.asterisk.info()));
  t.equal(answers.filter((a) => a.system?.version === '22.0.0').length, 12, 'all 12 requests answered');
  t.equal(peak, 4, 'never more than the 4 connections of the pool');
  await small.stop();
  for (const s of sockets) s.destroy();
  await waitFor(() => open === 0, 2_000, 'the pool\'s sockets to close');

  peak = 0;
  const byDefault = make();
  t.teardown(() => byDefault.stop());
  await Promise.all(Array.from({ length: 80 }, () => byDefault.asterisk.info()));
  t.equal(peak, 64, 'the default pool opens 64 connections');
});

async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
