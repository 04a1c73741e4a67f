import { readFileSync } from 'node:fs';
import t from 'tap';
import { stringify } from 'yaml';
import { bearer, buildTestApp, loginAs } from '../helpers/app.js';

const sample = JSON.parse(readFileSync(new URL('../../ivr/flows/main-line.json', import.meta.url), 'utf8')) as Record<string, unknown>;

t.test('IVR flow administration: upload, validate, publish, roll back', async (t) => {
  const app = await buildTestApp(t);
  const H = bearer((await loginAs(app, ['admin'])).token);
  const post = (url: string, payload?: unknown) => app.inject({ method: 'POST', url, headers: H, ...(payload === undefined ? {} : { payload: payload as object }) });
  // The sample flow's business-hours branch names the calendar "main-office".
  t.equal((await app.inject({ method: 'PUT', url: '/v1/calendars/main-office', headers: H, payload: { name: 'Main office', timeZone: 'Europe/Paris', weekly: { mon: [{ from: '08:00', to: '18:00' }] } } })).statusCode, 201);

  t.test('given the sample flow when uploaded twice then versions 1 and 2 are stored, nothing published yet', async (t) => {
    const v1 = await post('/v1/ivr/flows/main-line/versions', sample);
    t.equal(v1.statusCode, 201, v1.body);
    t.same(v1.json(), { id: 'main-line', version: 1 });
    const v2 = await post('/v1/ivr/flows/main-line/versions', { ...sample, name: 'Main line (new greeting)' });
    t.same(v2.json(), { id: 'main-line', version: 2 });
    const flow = (await app.inject({ method: 'GET', url: '/v1/ivr/flows/main-line', headers: H })).json();
    t.equal(flow.publishedVersion, null);
    t.same(flow.versions.map((v: { version: number }) => v.version), [1, 2]);
  });

  t.test('given the sample flow written in YAML when uploaded then it is stored as the same document; bad YAML is a clear 400', async (t) => {
    const yamlId = 'main-line-yaml';
    const doc: Record<string, unknown> = { ...sample, id: yamlId };
    const up = await app.inject({ method: 'POST', url: `/v1/ivr/flows/${yamlId}/versions`, headers: { ...H, 'content-type': 'application/yaml' }, payload: stringify(doc) });
    t.equal(up.statusCode, 201, up.body);
    const stored = (await app.inject({ method: 'GET', url: `/v1/ivr/flows/${yamlId}/versions/1`, headers: H })).json();
    t.same({ ...stored.body, version: doc.version }, doc, 'the YAML upload is the same flow as its JSON');
    const broken = await app.inject({ method: 'POST', url: `/v1/ivr/flows/${yamlId}/validate`, headers: { ...H, 'content-type': 'text/yaml' }, payload: 'nodes: [unclosed\n  - x: : :' });
    t.equal(broken.statusCode, 400);
    t.equal(broken.json().code, 'malformed_yaml');
    // A few lines of aliases must not expand into millions of nodes.
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]', 'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]'].join('\n');
    const b = await app.inject({ method: 'POST', url: `/v1/ivr/flows/${yamlId}/validate`, headers: { ...H, 'content-type': 'application/yaml' }, payload: bomb });
    t.equal(b.statusCode, 400, 'an alias bomb is refused');
  });

  t.test('given a broken flow when validated or uploaded then 400 flow_invalid naming each node', async (t) => {
    const nodes = { ...(sample.nodes as Record<string, Record<string, unknown>>) };
    const [firstId, first] = Object.entries(nodes)[0]!;
    nodes[firstId] = { ...first, next: 'no-such-node' };
    nodes.orphan = { type: 'hangup' };
    const broken = { ...sample, nodes };
    const check = await post('/v1/ivr/flows/main-line/validate', broken);
    t.equal(check.statusCode, 200);
    t.equal(check.json().valid, false);
    const codes = check.json().problems.map((p: { code: string; node?: string }) => `${p.code}@${p.node}`);
    t.ok(codes.includes('ivr.unreachable_node@orphan'), `unreachable node named (${codes.join(', ')})`);
    const up = await post('/v1/ivr/flows/main-line/versions', broken);
    t.equal(up.statusCode, 400);
    t.equal(up.json().code, 'flow_invalid');
    t.ok(up.json().details.problems.every((p: { node?: string }) => typeof p.node === 'string'), 'every problem names its node');
    const shape = await post('/v1/ivr/flows/main-line/versions', { ...sample, nodes: 'not an object' });
    t.equal(shape.statusCode, 400);
    t.equal(shape.json().code, 'flow_invalid');
    const mismatch = await post('/v1/ivr/flows/other-id/versions', sample);
    t.equal(mismatch.statusCode, 400);
    t.equal(mismatch.json().code, 'flow_id_mismatch');
    const notJson = await app.inject({ method: 'POST', url: '/v1/ivr/flows/main-line/versions', headers: { ...H, 'content-type': 'application/json' }, payload: '{"nodes": [' });
    t.equal(notJson.statusCode, 400);
    t.equal(notJson.json().code, 'malformed_json');
  });

  t.test('given versions when published and rolled back then the published version follows, and the history is kept', async (t) => {
    t.same((await post('/v1/ivr/flows/main-line/publish', { version: 1 })).json(), { id: 'main-line', publishedVersion: 1 });
    t.same((await post('/v1/ivr/flows/main-line/publish', { version: 2 })).json(), { id: 'main-line', publishedVersion: 2 });
    const back = await post('/v1/ivr/flows/main-line/rollback');
    t.same(back.json(), { id: 'main-line', publishedVersion: 1 }, 'rollback republishes version 1');
    const flow = (await app.inject({ method: 'GET', url: '/v1/ivr/flows/main-line', headers: H })).json();
    t.same(flow.publications.map((p: { version: number }) => p.version), [1, 2, 1]);
    const missing = await post('/v1/ivr/flows/main-line/publish', { version: 9 });
    t.equal(missing.statusCode, 404);
    t.equal(missing.json().code, 'flow_version_not_found');
    const stored = (await app.inject({ method: 'GET', url: '/v1/ivr/flows/main-line/versions/2', headers: H })).json();
    t.equal(stored.body.name, 'Main line (new greeting)');
    t.equal(stored.body.version, 2, 'the stored document carries its version');
  });

  t.test('given a calendar the published flow needs when it is deleted then publishing again is refused', async (t) => {
    // The calendar is not referenced by a queue, so routing lets it go; the flow check catches it.
    t.equal((await app.inject({ method: 'DELETE', url: '/v1/calendars/main-office', headers: H })).statusCode, 204);
    const r = await post('/v1/ivr/flows/main-line/publish', { version: 2 });
    t.equal(r.statusCode, 400);
    t.match(r.json().details.problems, [{ code: 'ivr.unknown_calendar' }]);
  });

  t.test('given a supervisor when uploading then 403; reading is allowed', async (t) => {
    const sup = bearer((await loginAs(app, ['supervisor'])).token);
    t.equal((await app.inject({ method: 'POST', url: '/v1/ivr/flows/main-line/versions', headers: sup, payload: sample })).statusCode, 403);
    t.equal((await app.inject({ method: 'GET', url: '/v1/ivr/flows', headers: sup })).statusCode, 200);
  });
});
