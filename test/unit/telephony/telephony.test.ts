import t from 'tap';
import { AppError } from '../../../server/domain/errors.js';
import { createSilentLogger } from '../../../server/infra/logger.js';
import { createTelephony } from '../../../server/telephony/telephony.js';

// Nothing here connects: the hub only builds clients until start() is called.
const server = (name: string) => ({ name, baseUrl: 'http://127.0.0.1:9', username: `u-${name}`, password: `p-${name}` });
const logger = createSilentLogger();

t.test('given two servers when the hub is asked by name then each has its own client and unknown names are not_found', async (t) => {
  const hub = createTelephony({ servers: [server('a'), { ...server('b'), app: 'other-app' }], app: 'ipcc', logger });
  t.equal(hub.server('a').name, 'a');
  t.equal(hub.server('a').app, 'ipcc', 'the hub app by default');
  t.equal(hub.server('b').app, 'other-app', 'a per-server app wins');
  t.equal(hub.servers().length, 2);
  let caught: unknown;
  try {
    hub.server('c');
  } catch (e) {
    caught = e;
  }
  t.ok(caught instanceof AppError);
  t.equal((caught as AppError).kind, 'not_found');
  t.equal((caught as AppError).code, 'telephony.unknown_server');
  await hub.stop();
});

t.test('given a hub not started when health is read then every server is down and says it has not connected yet', async (t) => {
  const hub = createTelephony({ servers: [server('a'), server('b')], app: 'ipcc', logger });
  const health = hub.health();
  t.same(
    health.map((h) => [h.name, h.up, h.detail]),
    [
      ['a', false, 'not connected yet'],
      ['b', false, 'not connected yet'],
    ],
  );
  t.ok(health.every((h) => !Number.isNaN(Date.parse(h.since))), 'since is a timestamp');
  t.equal(await hub.waitUntilUp(10), false, 'waiting for up gives up at its limit');
  await hub.stop();
});

t.test('given a bad server list when the hub is created then it refuses with a stable code', async (t) => {
  const codeOf = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as AppError).code;
    }
    return undefined;
  };
  t.equal(codeOf(() => createTelephony({ servers: [], app: 'ipcc', logger })), 'telephony.no_servers');
  t.equal(codeOf(() => createTelephony({ servers: [server('a'), server('a')], app: 'ipcc', logger })), 'telephony.duplicate_server');
  t.equal(
    codeOf(() => createTelephony({ servers: [{ ...server('a'), baseUrl: 'ftp://x' }], app: 'ipcc', logger })),
    'ari.bad_url',
  );
});
