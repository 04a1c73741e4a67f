/**
 * Bad input to the voice endpoints added for call control, callbacks, voicemail, interactions,
 * entry points to flows and SIP logins at fixed addresses: malformed, oversized, unknown and
 * forbidden requests get a clear 4xx with a stable code (or 503 when no media server is
 * configured), never a 500, and nothing is created by them.
 */
import t from 'tap';
import { bearer, buildTestApp, jsonApi, loginAs } from '../helpers/app.js';

t.test('given the app without a media server', async (t) => {
  const app = await buildTestApp(t, { IPCC_OUTBOUND_DIAL: 'PJSIP/{number}@carrier' });
  const H = bearer((await loginAs(app, ['admin'])).token);
  const { api, must } = jsonApi(app, H);
  await must('PUT', '/v1/skills/voice', { name: 'Voice' });
  await must('PUT', '/v1/queues/front', { name: 'Front', strategy: 'longest_idle', skills: [{ skillId: 'voice', minLevel: 1 }], serviceLevel: { percent: 80, withinSeconds: 20 } });
  await must('PUT', '/v1/agents/a1', { name: 'A1', skills: [{ skillId: 'voice', level: 5 }] });
  const code = async (method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, payload?: object) => {
    const r = await api(method, url, payload);
    return [r.statusCode, r.json().code] as const;
  };

  await t.test('when a callback is asked for wrongly then the answer names the problem', async (t) => {
    t.same(await code('POST', '/v1/callbacks', { queueId: 'front' }), [400, 'validation_failed'], 'no number');
    t.same(await code('POST', '/v1/callbacks', { queueId: 'front', number: '12ab' }), [400, 'validation_failed'], 'not a number');
    t.same(await code('POST', '/v1/callbacks', { queueId: 'front', number: '5551234', extra: 1 }), [400, 'validation_failed'], 'unknown field');
    t.same(await code('POST', '/v1/callbacks', { queueId: 'front', number: '5'.repeat(40) }), [400, 'validation_failed'], 'too long');
    t.same(await code('POST', '/v1/callbacks', { queueId: 'nowhere', number: '5551234' }), [400, 'unknown_reference'], 'unknown queue');
    t.same(await code('POST', '/v1/callbacks', { queueId: 'front', number: '5551234' }), [503, 'no_media_server'], 'no media server to place it');
    const malformed = await app.inject({ method: 'POST', url: '/v1/callbacks', headers: { ...H, 'content-type': 'application/json' }, payload: '{"queueId": "front", ' });
    t.equal(malformed.statusCode, 400);
    t.equal(malformed.json().code, 'malformed_json');
    const huge = await app.inject({ method: 'POST', url: '/v1/callbacks', headers: { ...H, 'content-type': 'application/json' }, payload: JSON.stringify({ queueId: 'front', number: '5551234', pad: 'x'.repeat(2_000_000) }) });
    t.equal(huge.statusCode, 413);
    t.same(await code('GET', '/v1/callbacks/cb-none'), [404, 'callback_not_found']);
    t.same(await code('DELETE', '/v1/callbacks/cb-none'), [409, 'callback_not_pending']);
    t.same((await must('GET', '/v1/callbacks')).items, [], 'nothing was created');
    const agent = bearer((await loginAs(app, ['agent'])).token);
    t.equal((await app.inject({ method: 'POST', url: '/v1/callbacks', headers: agent, payload: { queueId: 'front', number: '5551234' } })).statusCode, 403, 'agents may not schedule callbacks');
  });

  await t.test('when call control is asked for an agent without a call or with a bad target then it says so', async (t) => {
    t.same(await code('POST', '/v1/agents/a1/call/hold'), [409, 'no_active_call']);
    t.same(await code('GET', '/v1/agents/a1/call'), [409, 'no_active_call']);
    t.same(await code('POST', '/v1/agents/a1/call/transfer', {}), [400, 'validation_failed'], 'no target');
    t.same(await code('POST', '/v1/agents/a1/call/transfer', { queueId: 'front', agentId: 'a1' }), [400, 'validation_failed'], 'two targets');
    t.same(await code('POST', '/v1/agents/a1/call/consult', { number: '+1-555' }), [400, 'validation_failed'], 'not a number');
    t.same(await code('POST', '/v1/agents/a1/call/transfer', { agentId: 'nobody' }), [400, 'unknown_reference']);
    t.same(await code('POST', '/v1/agents/BAD!/call/hold'), [400, 'validation_failed'], 'bad agent id');
  });

  await t.test('when voicemails, interactions, entry points and SIP logins are asked for wrongly then the answer is a clear 4xx', async (t) => {
    t.same(await code('GET', '/v1/interactions/nope'), [404, 'interaction_not_found']);
    t.same(await code('GET', '/v1/voicemails/nope/audio'), [404, 'voicemail_not_found']);
    t.same(await code('GET', '/v1/voicemails?limit=0'), [400, 'validation_failed']);
    t.same(await code('GET', '/v1/callbacks?state=NOT-A-STATE'), [400, 'validation_failed']);
    t.same(await code('PUT', '/v1/entry-points/5550100', { flowId: 'no-such-flow' }), [400, 'unknown_reference'], 'a flow with no published version');
    t.same(await code('PUT', '/v1/entry-points/5550100', { flowId: 'x', queueId: 'front' }), [400, 'validation_failed'], 'a queue and a flow at once');
    t.same(await code('PUT', '/v1/agents/a1/sip-login', { contact: 'http://not-sip' }), [400, 'validation_failed'], 'a contact must be a SIP URI');
    t.same(await code('PUT', '/v1/agents/a1/sip-login', { contact: 'sip:a b@host' }), [400, 'validation_failed']);
    t.same(await code('PUT', '/v1/queues/front', { name: 'Front', strategy: 'longest_idle', serviceLevel: { percent: 80, withinSeconds: 20 }, voice: { announceEverySeconds: 1 } }), [400, 'validation_failed'], 'announcements at least 10 s apart');
  });
});
