import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError, loadConfig, renderEnvExample } from '../../../config/index.js';
import { SETTINGS } from '../../../config/schema.js';

const SECRET = { IPCC_AUTH_TOKEN_SECRET: 'k'.repeat(40) };

t.test('given only the required secret when loading then defaults fill every setting and the result is frozen', async (t) => {
  const c = loadConfig({ env: SECRET });
  t.equal(c.http.port, 8080);
  t.equal(c.http.host, '127.0.0.1');
  t.equal(c.mysql.migrateOnStart, false);
  t.same(c.asterisk.servers, []);
  t.ok(Object.isFrozen(c) && Object.isFrozen(c.http));
});

t.test('given no token secret when loading then the error names IPCC_AUTH_TOKEN_SECRET and says it is required', async (t) => {
  const err = t.throws(() => loadConfig({ env: {} })) as ConfigError;
  t.type(err, ConfigError);
  t.match(err.issues, [{ setting: 'IPCC_AUTH_TOKEN_SECRET', problem: /is required/ }]);
});

t.test('given several bad settings when loading then every one is named with what is wrong', async (t) => {
  const err = t.throws(() =>
    loadConfig({ env: { ...SECRET, IPCC_HTTP_PORT: 'eighty', IPCC_MYSQL_POOL_SIZE: '0', IPCC_LOG_LEVEL: 'loud', IPCC_MIGRATE_ON_START: 'maybe' } }),
  ) as ConfigError;
  const byName = Object.fromEntries(err.issues.map((i) => [i.setting, i.problem]));
  t.match(byName.IPCC_HTTP_PORT, /whole number/);
  t.match(byName.IPCC_MYSQL_POOL_SIZE, /at least 1/);
  t.match(byName.IPCC_LOG_LEVEL, /one of fatal, error/);
  t.match(byName.IPCC_MIGRATE_ON_START, /true or false/);
  t.match(err.message, /IPCC_HTTP_PORT: must be a whole number/);
});

t.test('given a short secret when loading then the message does not print the secret', async (t) => {
  const err = t.throws(() => loadConfig({ env: { IPCC_AUTH_TOKEN_SECRET: 'hunter2' } })) as ConfigError;
  t.notMatch(err.message, /hunter2/);
  t.match(err.message, /IPCC_AUTH_TOKEN_SECRET: must be at least 32 characters/);
});

t.test('given Asterisk servers when loading then each is parsed with its credentials and bad entries are named', async (t) => {
  const c = loadConfig({ env: { ...SECRET, IPCC_ASTERISK_SERVERS: 'main=http://ipcc:s%40cret@127.0.0.1:8088, b2=https://u:p@10.0.0.2:8089/' } });
  t.same(c.asterisk.servers, [
    { name: 'main', baseUrl: 'http://127.0.0.1:8088', username: 'ipcc', password: 's@cret' },
    { name: 'b2', baseUrl: 'https://10.0.0.2:8089', username: 'u', password: 'p' },
  ]);
  const err = t.throws(() => loadConfig({ env: { ...SECRET, IPCC_ASTERISK_SERVERS: 'a=http://127.0.0.1:8088,x=ftp://a:b@h,main=http://u:p@h,main=http://u:p@h2' } })) as ConfigError;
  t.equal(err.issues.length, 3);
  t.match(err.issues[0]?.problem, /must carry the ARI user and password/);
  t.match(err.issues[1]?.problem, /must use http or https/);
  t.match(err.issues[2]?.problem, /appears twice/);
});

t.test('given a JSON config file when loading then its values apply, the environment wins, and unknown keys are named', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ipcc-cfg-'));
  const file = join(dir, 'ipcc.json');
  writeFileSync(file, JSON.stringify({ http: { port: 9000, host: '0.0.0.0' }, auth: { tokenSecret: 'f'.repeat(40) } }));
  const c = loadConfig({ env: { IPCC_CONFIG_FILE: file, IPCC_HTTP_PORT: '9100' } });
  t.equal(c.http.port, 9100, 'env wins');
  t.equal(c.http.host, '0.0.0.0', 'file applies');
  writeFileSync(file, JSON.stringify({ http: { prot: 1 } }));
  const err = t.throws(() => loadConfig({ env: { ...SECRET, IPCC_CONFIG_FILE: file } })) as ConfigError;
  t.match(err.issues, [{ setting: `${file}:http.prot`, problem: /unknown setting/ }]);
  writeFileSync(file, '{not json');
  const err2 = t.throws(() => loadConfig({ env: { ...SECRET, IPCC_CONFIG_FILE: file } })) as ConfigError;
  t.match(err2.issues, [{ setting: 'IPCC_CONFIG_FILE', problem: /cannot read .* as JSON/ }]);
});

t.test('given the schema when comparing with config/env.example then the committed file documents every setting', async (t) => {
  const committed = readFileSync(new URL('../../../config/env.example', import.meta.url), 'utf8');
  t.equal(committed, renderEnvExample(), 'regenerate with `node bin/ipcc.js config example > config/env.example`');
  for (const s of SETTINGS) t.match(committed, new RegExp(`^#? ?${s.env}=`, 'm'), `${s.env} documented`);
});
