/**
 * Recordings on MariaDB and Redis with the real app, the real router and the real voice service;
 * the media server is the in-memory fake of the CallControl port (test/helpers), so calls are
 * bridged and recorded without Asterisk. The recording itself on a real Asterisk is in
 * test/telephony/recording-pci.test.ts.
 */
import t from 'tap';
import { isExpired, retentionPlan } from '../../server/domain/recording.js';
import { bearer, eventually, loginAs, uniqueId } from '../helpers/app.js';
import { mediaError } from '../helpers/fake-call-control.js';
import { bridgedCall, hangUp, queueWith, readyAgent, voiceAppWithFake, type Ctx } from '../helpers/voice-calls.js';

const DAY = 86_400_000;

t.test('given the app with a fake media server', async (t) => {
  const c: Ctx = await voiceAppWithFake(t, { IPCC_RECORDING_RETENTION_DAYS: '30', IPCC_RECORDING_RETENTION_EVERY_MINUTES: '0' });
  const { app, fake, admin } = c;
  const sup = bearer((await loginAs(app, ['supervisor'])).token);
  const qa = bearer((await loginAs(app, ['qa'])).token);
  const post = (url: string, headers: Record<string, string>) => app.inject({ method: 'POST', url, headers });

  await t.test('given queue recording settings when put then valid ones are stored and bad ones are refused naming the field', async (t) => {
    const id = uniqueId('q');
    const put = (recording: unknown) => app.inject({ method: 'PUT', url: `/v1/queues/${id}`, headers: admin, payload: { name: 'Q', strategy: 'longest_idle', serviceLevel: { percent: 80, withinSeconds: 20 }, recording } });
    const ok = await put({ mode: 'percent', percent: 12.5, retentionDays: 7 });
    t.equal(ok.statusCode, 201, ok.body);
    t.same((await app.inject({ method: 'GET', url: `/v1/queues/${id}`, headers: sup })).json().recording, { mode: 'percent', percent: 12.5, retentionDays: 7 }, 'stored and read back');
    const cases: [unknown, string, string][] = [
      [{ mode: 'percent' }, 'recording.percent_required', 'body.recording.percent'],
      [{ mode: 'always', percent: 20 }, 'recording.percent_without_percent_mode', 'body.recording.percent'],
    ];
    for (const [rec, code, field] of cases) {
      const r = await put(rec);
      t.equal(r.statusCode, 400, JSON.stringify(rec));
      t.equal(r.json().code, code);
      t.equal(r.json().details.field, field);
    }
    const schemaCases: [unknown, string][] = [
      [{ mode: 'percent', percent: 120 }, 'body.recording.percent'],
      [{ mode: 'sometimes' }, 'body.recording.mode'],
      [{ percent: 5 }, 'body.recording.mode'],
      [{ mode: 'always', retentionDays: -1 }, 'body.recording.retentionDays'],
      [{ mode: 'always', keep: true }, 'body.recording.keep'],
    ];
    for (const [rec, field] of schemaCases) {
      const r = await put(rec);
      t.equal(r.statusCode, 400, JSON.stringify(rec));
      t.equal(r.json().code, 'validation_failed');
      t.ok(r.json().details.fields.some((f: { field: string }) => f.field === field), `${JSON.stringify(rec)} names ${field}: ${JSON.stringify(r.json().details.fields)}`);
    }
    t.same((await app.inject({ method: 'GET', url: `/v1/queues/${id}`, headers: sup })).json().recording, { mode: 'percent', percent: 12.5, retentionDays: 7 }, 'refused changes left the queue as it was');
    const status = (await app.inject({ method: 'GET', url: '/v1/recordings/retention', headers: admin })).json();
    t.equal(status.retentionDays, 30);
    t.ok(status.queues.some((q: { queueId: string; days: number }) => q.queueId === id && q.days === 7), 'the override is part of the retention policy');
  });

  await t.test('given a queue that never records when a call is bridged then it is not recorded and pausing answers 409', async (t) => {
    const q = await queueWith(c, { mode: 'never' });
    await readyAgent(c, q.skill);
    const callId = await bridgedCall(c, q.entry);
    t.equal((await app.inject({ method: 'GET', url: `/v1/calls/${callId}`, headers: admin })).json().recording, null, 'no recording on the call');
    t.notOk(fake.made('recordBridge').some((a) => a[1] === `call-${callId}`) || fake.made('recordCall').some((a) => a[1] === callId), 'the media server was not asked to record');
    t.notOk(fake.made('prepareRecording').some((a) => a[1] === callId), 'nor to get a recording ready while the agent rang');
    const r = await post(`/v1/calls/${callId}/recording/pause`, sup);
    t.equal(r.statusCode, 409);
    t.equal(r.json().code, 'recording_not_active');
    t.equal((await app.inject({ method: 'GET', url: `/v1/recordings?callId=${callId}`, headers: qa })).json().items.length, 0, 'no metadata row');
    await hangUp(c, callId);
  });

  await t.test('given a recording the media server cannot start when a call is bridged then the call goes on and the recording is on record as failed', async (t) => {
    const q = await queueWith(c);
    await readyAgent(c, q.skill);
    fake.failWhen('recordCall', () => mediaError('unavailable', 'ari.unavailable'));
    let callId: string;
    try {
      callId = await bridgedCall(c, q.entry);
    } finally {
      fake.failWhen('recordCall', () => undefined);
    }
    await eventually(async () => (await app.inject({ method: 'GET', url: `/v1/recordings?callId=${callId}`, headers: qa })).json().items[0]?.state === 'failed', 5000);
    t.pass('the recording is on record as failed');
    await new Promise((r) => setTimeout(r, 300));
    const call = (await app.inject({ method: 'GET', url: `/v1/calls/${callId}`, headers: admin })).json();
    t.match(call, { live: true, endedAt: null, outcome: null }, 'and the call goes on, connected');
    t.notOk(fake.made('hangup').some((a) => a[1] === callId), 'nobody hung up the customer');
    await hangUp(c, callId);
  });

  await t.test('given a recorded call when it is paused and resumed then silence is asked for, the window is kept, each step audited and errors have stable codes', async (t) => {
    const q = await queueWith(c);
    const agentUser = await loginAs(app, ['agent']);
    const otherAgent = await loginAs(app, ['agent']);
    await readyAgent(c, q.skill, agentUser.user.id);
    // Another agent, with a login but not on this call.
    t.equal((await app.inject({ method: 'PUT', url: `/v1/agents/${uniqueId('ag')}`, headers: admin, payload: { name: 'Other', userId: otherAgent.user.id } })).statusCode, 201);
    const callId = await bridgedCall(c, q.entry);
    const name = `call-${callId}`;
    t.ok(fake.made('recordCall').some((a) => a[1] === callId && a[2] === name), 'the caller\'s channel is recorded under the name the recorder chose');
    const asked = fake.requests.map((r) => `${r.method}:${String(r.args[1])}`);
    const prepared = asked.indexOf(`prepareRecording:${callId}`);
    t.ok(prepared >= 0 && prepared < asked.indexOf(`recordCall:${callId}`), 'the recording was got ready while the agent rang, before it started');
    const listed = (await app.inject({ method: 'GET', url: `/v1/recordings?callId=${callId}`, headers: qa })).json().items;
    t.match(listed, [{ name, callId, queueId: q.queueId, customerNumber: '+34600111222', state: 'recording', paused: false, pauses: [] }]);

    t.equal((await post('/v1/calls/no-such-call/recording/pause', sup)).json().code, 'call_not_found');
    t.equal((await post('/v1/calls/no-such-call/recording/pause', sup)).statusCode, 404);
    const byQa = await post(`/v1/calls/${callId}/recording/pause`, qa);
    t.equal(byQa.statusCode, 403, 'QA may not pause');
    t.equal(byQa.json().code, 'role_forbidden');
    const byOther = await post(`/v1/calls/${callId}/recording/pause`, bearer(otherAgent.token));
    t.equal(byOther.statusCode, 403, 'another agent may not pause');
    t.equal(byOther.json().code, 'not_your_call');
    t.equal((await post(`/v1/calls/${callId}/recording/resume`, sup)).json().code, 'recording_not_paused');

    await new Promise((r) => setTimeout(r, 150));
    const paused = await post(`/v1/calls/${callId}/recording/pause`, bearer(agentUser.token));
    t.equal(paused.statusCode, 200, `the handling agent may pause: ${paused.body}`);
    t.ok(paused.json().offsetMs >= 100, `the pause starts into the recording (${paused.json().offsetMs} ms)`);
    t.same(fake.made('muteRecording').at(-1), ['fake', name, true], 'the media server writes silence from now');
    const again = await post(`/v1/calls/${callId}/recording/pause`, sup);
    t.equal(again.statusCode, 409);
    t.equal(again.json().code, 'recording_already_paused');
    t.equal((await app.inject({ method: 'GET', url: `/v1/recordings/${name}`, headers: qa })).json().paused, true);

    // A media server that cannot unmute now: 503, and the recording stays paused (as it is on the server).
    fake.failWhen('muteRecording', (a) => (a[2] === false ? mediaError('unavailable', 'ari.unavailable') : undefined));
    const failed = await post(`/v1/calls/${callId}/recording/resume`, sup);
    t.equal(failed.statusCode, 503);
    t.equal((await app.inject({ method: 'GET', url: `/v1/recordings/${name}`, headers: qa })).json().paused, true, 'still paused in the records');
    fake.failWhen('muteRecording', () => undefined);

    await new Promise((r) => setTimeout(r, 150));
    const resumed = await post(`/v1/calls/${callId}/recording/resume`, sup);
    t.equal(resumed.statusCode, 200, resumed.body);
    t.same(fake.made('muteRecording').at(-1), ['fake', name, false]);
    const [w] = resumed.json().pauses;
    t.ok(w.endMs - w.startMs >= 100, `the window is on the timeline: ${JSON.stringify(w)}`);
    t.equal(w.startMs, paused.json().offsetMs);

    // Pause again and hang up while paused: the open window ends with the recording.
    t.equal((await post(`/v1/calls/${callId}/recording/pause`, sup)).statusCode, 200);
    await hangUp(c, callId);
    const done = await eventually(async () => {
      const r = (await app.inject({ method: 'GET', url: `/v1/recordings/${name}`, headers: qa })).json();
      return r.state === 'done' ? r : undefined;
    }, 5000);
    t.equal(done.pauses.length, 2);
    t.not(done.pauses[1].endMs, null, 'closed at the end of the call');
    t.ok(done.durationMs >= done.pauses[1].endMs, `the call's length covers the windows (${done.durationMs} ms)`);
    t.ok(done.endedAt, 'ended');
    const after = await post(`/v1/calls/${callId}/recording/resume`, sup);
    t.equal(after.statusCode, 409, 'an ended recording cannot be paused or resumed');
    t.equal(after.json().code, 'recording_not_active');
    const [audits] = (await app.mysql.query("SELECT action, JSON_EXTRACT(details, '$.offsetMs') AS off FROM audit_log WHERE target = ? AND action IN ('recording.pause', 'recording.resume') ORDER BY id", [callId])) as unknown as [{ action: string; off: number }[]];
    t.same(audits.map((a) => a.action), ['recording.pause', 'recording.resume', 'recording.pause'], 'each pause and resume is audited (refused ones are not)');
    t.equal(Number(audits[0]!.off), paused.json().offsetMs);
  });

  await t.test('given a recording the media server failed to write when its end is reported then it is marked failed', async (t) => {
    const q = await queueWith(c, { mode: 'percent', percent: 100 });
    await readyAgent(c, q.skill);
    const callId = await bridgedCall(c, q.entry);
    await fake.emit({ type: 'recording_ended', server: 'fake', name: `call-${callId}`, ok: false, durationSeconds: 3 });
    await fake.emit({ type: 'recording_ended', server: 'fake', name: 'voicemail-not-ours', ok: true, durationSeconds: 3 });
    const r = (await app.inject({ method: 'GET', url: `/v1/recordings/call-${callId}`, headers: qa })).json();
    t.equal(r.state, 'failed');
    t.equal(r.mediaSeconds, 3);
    t.equal((await post(`/v1/calls/${callId}/recording/pause`, sup)).json().code, 'recording_not_active');
    await hangUp(c, callId);
    await eventually(async () => (await app.inject({ method: 'GET', url: `/v1/recordings/call-${callId}`, headers: qa })).json().endedAt, 5000);
    t.equal((await app.inject({ method: 'GET', url: `/v1/recordings/call-${callId}`, headers: qa })).json().state, 'failed', 'the end of the call does not hide the failure');
  });

  /** Recordings inserted as the recorder would have made them, `days` ago. */
  async function seed(rows: { tag: string; queueId: string | null; days: number; agentId?: string }[]): Promise<Map<string, { name: string; callId: string; queueId: string | null; startedAt: number }>> {
    const out = new Map<string, { name: string; callId: string; queueId: string | null; startedAt: number }>();
    for (const r of rows) {
      const callId = uniqueId(`c${r.tag}`);
      const name = `call-${callId}`;
      const startedAt = Date.now() - r.days * DAY;
      await app.mysql.query(
        "INSERT INTO recordings (tenant_id, name, call_id, server, queue_id, agent_id, agents, customer_number, started_at, ended_at, duration_ms, state, pauses) VALUES (?, ?, ?, 'fake', ?, ?, ?, '+100', ?, ?, 60000, 'done', '[]')",
        [app.tenantId, name, callId, r.queueId, r.agentId ?? null, JSON.stringify(r.agentId ? [r.agentId] : []), new Date(startedAt), new Date(startedAt + 60_000)],
      );
      out.set(r.tag, { name, callId, queueId: r.queueId, startedAt });
    }
    return out;
  }

  async function runRetention(): Promise<{ id: string; state: string; deleted: number; failed: number; remaining: number }> {
    const r = await post('/v1/recordings/retention/runs', admin);
    if (r.statusCode !== 202) throw new Error(`run: ${r.body}`);
    const { id } = r.json();
    return eventually(async () => {
      const run = (await app.inject({ method: 'GET', url: `/v1/recordings/retention/runs/${id}`, headers: admin })).json();
      return run.state === 'done' || run.state === 'failed' ? run : undefined;
    }, 15000);
  }

  const deletedAudits = async (names: string[]) => {
    const [rows] = (await app.mysql.query("SELECT target, actor, JSON_UNQUOTE(JSON_EXTRACT(details, '$.reason')) AS reason FROM audit_log WHERE action = 'recording.delete' AND target IN (?) ORDER BY id", [names])) as unknown as [{ target: string; actor: string; reason: string }[]];
    return rows;
  };

  await t.test('given old and new recordings under default and per-queue retention when the job runs twice then only the old ones are deleted, each logged once', async (t) => {
    const short = uniqueId('q');
    const forever = uniqueId('q');
    for (const [id, days] of [[short, 7], [forever, 0]] as const) {
      const r = await app.inject({ method: 'PUT', url: `/v1/queues/${id}`, headers: admin, payload: { name: 'Q', strategy: 'longest_idle', serviceLevel: { percent: 80, withinSeconds: 20 }, recording: { mode: 'always', retentionDays: days } } });
      t.equal(r.statusCode, 201);
    }
    const other = uniqueId('q');
    const s = await seed([
      { tag: 'shortold', queueId: short, days: 8 }, { tag: 'shortnew', queueId: short, days: 6 },
      { tag: 'forever', queueId: forever, days: 4000 },
      { tag: 'defold', queueId: other, days: 31 }, { tag: 'defnew', queueId: other, days: 29 },
      { tag: 'noqueue', queueId: null, days: 45 }, { tag: 'stuck', queueId: other, days: 60 },
    ]);
    const all = [...s.values()];
    const names = all.map((r) => r.name);
    const stuck = s.get('stuck')!.name;
    fake.failWhen('deleteRecording', (a) => (a[1] === stuck ? mediaError('unavailable', 'ari.unavailable') : undefined));

    const first = await runRetention();
    t.match(first, { state: 'done', deleted: 3, failed: 1, remaining: 0 }, 'three deleted, one the media server could not delete');
    const deletedNow = new Set(['shortold', 'defold', 'noqueue'].map((k) => s.get(k)!.name));
    const [rows] = (await app.mysql.query('SELECT name, state, deleted_reason FROM recordings WHERE name IN (?)', [names])) as unknown as [{ name: string; state: string; deleted_reason: string | null }[]];
    t.same(rows.filter((r) => r.state === 'deleted').map((r) => r.name).sort(), [...deletedNow].sort(), 'exactly the old ones are marked deleted');
    t.equal(rows.find((r) => r.name === s.get('shortold')!.name)?.deleted_reason, `retention: older than 7 days (queue ${short})`);
    t.equal(rows.find((r) => r.name === s.get('defold')!.name)?.deleted_reason, 'retention: older than 30 days (installation default)');
    t.ok(fake.made('deleteRecording').filter((a) => names.includes(String(a[1]))).every((a) => deletedNow.has(String(a[1])) || a[1] === stuck), 'the media server was asked to delete only old ones');
    // The store's queries and the pure rule agree on what is past retention.
    const plan = retentionPlan(Date.now(), 30, [{ queueId: short, days: 7 }, { queueId: forever, days: 0 }]);
    t.same(all.filter((r) => isExpired(plan, r)).map((r) => r.name).sort(), [...deletedNow, stuck].sort());
    let audits = await deletedAudits(names);
    t.same(audits.map((a) => a.target).sort(), [...deletedNow].sort(), 'each deletion is in the audit log');
    t.ok(audits.every((a) => a.actor === 'retention' && a.reason.startsWith('retention: older than')), 'with the reason');

    fake.failWhen('deleteRecording', () => undefined);
    const before = fake.made('deleteRecording').length;
    const second = await runRetention();
    t.match(second, { state: 'done', deleted: 1, failed: 0 }, 'the second run deletes only the one left over');
    t.same(fake.made('deleteRecording').slice(before).map((a) => a[1]).filter((n) => names.includes(String(n))), [stuck], 'and does not touch the deleted ones again');
    const third = await runRetention();
    t.match(third, { state: 'done', deleted: 0, failed: 0, remaining: 0 }, 'a third run has nothing to do');
    audits = await deletedAudits(names);
    t.equal(audits.length, 4, 'no deletion logged twice');
    const status = (await app.inject({ method: 'GET', url: '/v1/recordings/retention', headers: admin })).json();
    t.equal(status.lastRun.id, third.id, 'the last run is shown');
    t.equal((await app.inject({ method: 'GET', url: '/v1/recordings/retention', headers: sup })).statusCode, 403, 'admins only');
    t.equal((await app.inject({ method: 'GET', url: '/v1/recordings/retention/runs/nope', headers: admin })).json().code, 'retention_run_not_found');

    const gone = await app.inject({ method: 'GET', url: `/v1/calls/${s.get('defold')!.callId}/recording`, headers: qa });
    t.equal(gone.statusCode, 404);
    t.equal(gone.json().code, 'recording_deleted', 'a deleted recording says so');
  });

  await t.test('given two retention runs at once when both finish then every old recording is deleted and logged exactly once', async (t) => {
    const s = await seed(Array.from({ length: 12 }, (_, i) => ({ tag: `par${i}`, queueId: null, days: 40 + i })));
    const names = [...s.values()].map((r) => r.name);
    const [a, b] = await Promise.all([runRetention(), runRetention()]);
    t.equal(a.deleted + b.deleted, 12, `the two runs shared the work (${a.deleted} + ${b.deleted})`);
    t.equal((await deletedAudits(names)).length, 12, 'one audit line per recording');
  });

  await t.test('given recordings of several queues and agents when QA lists them then filters, pages and roles apply', async (t) => {
    const qa1 = uniqueId('q');
    const ag = uniqueId('ag');
    const s = await seed([
      { tag: 'l1', queueId: qa1, days: 3, agentId: ag }, { tag: 'l2', queueId: qa1, days: 2 }, { tag: 'l3', queueId: qa1, days: 1, agentId: ag },
      { tag: 'l4', queueId: uniqueId('q'), days: 1, agentId: ag },
    ]);
    const list = async (qs: string, h = qa) => app.inject({ method: 'GET', url: `/v1/recordings?${qs}`, headers: h });
    const byQueue = (await list(`queueId=${qa1}`)).json();
    t.same(byQueue.items.map((i: { name: string }) => i.name), ['l3', 'l2', 'l1'].map((k) => s.get(k)!.name), 'newest first');
    t.same((await list(`agentId=${ag}`)).json().items.map((i: { name: string }) => i.name), ['l4', 'l3', 'l1'].map((k) => s.get(k)!.name));
    const from = new Date(Date.now() - 2.5 * DAY).toISOString();
    const to = new Date(Date.now() - 1.5 * DAY).toISOString();
    t.same((await list(`queueId=${qa1}&from=${from}&to=${to}`)).json().items.map((i: { name: string }) => i.name), [s.get('l2')!.name], 'a period');
    const p1 = (await list(`queueId=${qa1}&limit=2`)).json();
    t.equal(p1.items.length, 2);
    const p2 = (await list(`queueId=${qa1}&limit=2&after=${p1.next}`)).json();
    t.same(p2.items.map((i: { name: string }) => i.name), [s.get('l1')!.name], 'the next page');
    t.equal(p2.next, null, 'and no more');
    t.match(p1.items[0], { queueId: qa1, agentId: ag, customerNumber: '+100', durationMs: 60000, state: 'done', url: `/v1/calls/${s.get('l3')!.callId}/recording` });
    t.equal((await list(`queueId=${qa1}`, sup)).statusCode, 200, 'supervisors may list');
    const agentToken = bearer((await loginAs(app, ['agent'])).token);
    t.equal((await list(`queueId=${qa1}`, agentToken)).statusCode, 403, 'agents may not');
    const backwards = await list(`from=${to}&to=${from}`);
    t.equal(backwards.statusCode, 400);
    t.equal(backwards.json().details.fields[0].field, 'querystring.from');
    const badDate = await list('from=yesterday');
    t.equal(badDate.statusCode, 400);
    t.equal(badDate.json().details.fields[0].field, 'querystring.from');
    t.equal((await list('after=bm90LWEtY3Vyc29y')).json().details.fields[0].field, 'querystring.after');
    t.equal((await app.inject({ method: 'GET', url: '/v1/recordings/call-nope', headers: qa })).json().code, 'recording_not_found');
  });
});
