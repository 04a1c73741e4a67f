import t from 'tap';
import {
  agentEndpointId,
  agentSipObjects,
  isAgentEndpointId,
  parseAgentEndpointId,
  reconcileEndpoints,
  STATIC_CONTACT_PATTERN,
  sameSipValue,
  type AgentSipLogin,
  type DesiredSipEndpoint,
  type ObservedSipEndpoint,
  type SipObjects,
} from '../../../server/domain/sip-endpoint.js';

const login = (agentId: string, password = 'pw-' + agentId, tenantId = 1): AgentSipLogin => ({ tenantId, agentId, password });
const desired = (l: AgentSipLogin): DesiredSipEndpoint => ({ id: agentEndpointId(l.tenantId, l.agentId), objects: agentSipObjects(l) });

/** What Asterisk reads back for objects we pushed: booleans as true/false, codec lists in parentheses, numbers as floats, disallow missing, plus defaults. */
function asAsteriskRendersIt(objects: SipObjects): ObservedSipEndpoint['objects'] {
  const render = (attribute: string, value: string): string => {
    if (value === 'yes') return 'true';
    if (value === 'no') return 'false';
    if (attribute === 'allow') return `(${value.split(',').join('|')})`;
    if (attribute === 'qualify_timeout') return `${value}.000000`;
    return value;
  };
  const out: ObservedSipEndpoint['objects'] = {};
  for (const type of ['auth', 'aor', 'endpoint'] as const) {
    const fields: Record<string, string> = { some_default: '' };
    for (const f of objects[type]) if (f.attribute !== 'disallow') fields[f.attribute] = render(f.attribute, f.value);
    out[type] = fields;
  }
  return out;
}

const observedOf = (d: DesiredSipEndpoint): ObservedSipEndpoint => ({ id: d.id, objects: asAsteriskRendersIt(d.objects) });

t.test('naming: agent-<tenant>-<agent>, parsed back, and only our tenant counts as ours', async (t) => {
  t.equal(agentEndpointId(1, 'alice'), 'agent-1-alice');
  t.same(parseAgentEndpointId('agent-12-bob.smith_2'), { tenantId: 12, agentId: 'bob.smith_2' });
  t.same(parseAgentEndpointId('agent-1-a-b'), { tenantId: 1, agentId: 'a-b' }, 'dashes in the agent id');
  for (const id of ['agent-alice', 'agent-0-x', 'trunk-1', 'agent-1-', 'agent-1-Alice', 'xagent-1-a']) t.equal(parseAgentEndpointId(id), undefined, id);
  t.ok(isAgentEndpointId('agent-1-x', 1));
  t.notOk(isAgentEndpointId('agent-2-x', 1), 'another tenant');
  t.throws(() => agentEndpointId(1, 'Bad Id'));
  t.throws(() => agentEndpointId(0, 'a'));
});

t.test('the objects of a login: digest auth, one contact replacing the old, qualify, agent context, G.711, media through Asterisk', async (t) => {
  const o = agentSipObjects(login('alice', 'secret'));
  const get = (list: readonly { attribute: string; value: string }[], a: string) => list.find((f) => f.attribute === a)?.value;
  t.equal(get(o.auth, 'auth_type'), 'digest');
  t.equal(get(o.auth, 'username'), 'agent-1-alice');
  t.equal(get(o.auth, 'password'), 'secret');
  t.equal(get(o.aor, 'max_contacts'), '1');
  t.equal(get(o.aor, 'remove_existing'), 'yes');
  t.ok(Number(get(o.aor, 'qualify_frequency')) > 0);
  t.equal(get(o.endpoint, 'context'), 'ipcc-agents');
  t.equal(get(o.endpoint, 'auth'), 'agent-1-alice');
  t.equal(get(o.endpoint, 'aors'), 'agent-1-alice');
  t.equal(get(o.endpoint, 'allow'), 'ulaw,alaw');
  t.ok(o.endpoint.findIndex((f) => f.attribute === 'disallow') < o.endpoint.findIndex((f) => f.attribute === 'allow'), 'disallow before allow');
  for (const a of ['rtp_symmetric', 'force_rport', 'rewrite_contact']) t.equal(get(o.endpoint, a), 'yes', a);
  t.equal(get(o.endpoint, 'direct_media'), 'no');
});

t.test('given a login with a static contact then the aor holds that contact and is not qualified; without one it holds none', async (t) => {
  const get = (list: readonly { attribute: string; value: string }[], a: string) => list.find((f) => f.attribute === a)?.value;
  const fixed = agentSipObjects({ ...login('desk'), contact: 'sip:desk12@10.0.4.12:5060' });
  t.equal(get(fixed.aor, 'contact'), 'sip:desk12@10.0.4.12:5060');
  t.equal(get(fixed.aor, 'qualify_frequency'), '0', 'a phone that does not register is not pinged');
  t.equal(get(agentSipObjects(login('soft')).aor, 'contact'), undefined);
  t.ok(STATIC_CONTACT_PATTERN.test('sip:desk12@10.0.4.12:5060'));
  t.ok(STATIC_CONTACT_PATTERN.test('sips:desk@pbx.example.org;transport=tls'));
  for (const bad of ['http://x', 'sip:a b@host', '<sip:x@y>', 'sip:x@y,sip:z@w', '']) t.notOk(STATIC_CONTACT_PATTERN.test(bad), bad);
});

t.test('values compare the way Asterisk renders them', async (t) => {
  t.ok(sameSipValue('rtp_symmetric', 'yes', 'true'));
  t.ok(sameSipValue('direct_media', 'no', 'false'));
  t.notOk(sameSipValue('direct_media', 'no', 'true'));
  t.ok(sameSipValue('allow', 'ulaw,alaw', '(ulaw|alaw)'));
  t.notOk(sameSipValue('allow', 'ulaw,alaw', '(alaw|ulaw)'), 'codec order matters');
  t.ok(sameSipValue('qualify_timeout', '3', '3.000000'));
  t.notOk(sameSipValue('max_contacts', '1', 'true'), 'a number is not a boolean');
  t.notOk(sameSipValue('password', 'a', undefined));
  t.notOk(sameSipValue('password', 'Secret', 'secret'), 'secrets compare with case');
  t.ok(sameSipValue('rtp_symmetric', 'YES', 'true'));
});

t.test('given nothing in Asterisk when reconciling then every object is created, auth and aor before the endpoint', async (t) => {
  const plan = reconcileEndpoints([desired(login('b')), desired(login('a'))], [], { tenantId: 1 });
  t.same(
    plan.actions.map((a) => `${a.op} ${a.type} ${a.id} ${a.reason}`),
    ['put auth agent-1-a missing', 'put aor agent-1-a missing', 'put endpoint agent-1-a missing', 'put auth agent-1-b missing', 'put aor agent-1-b missing', 'put endpoint agent-1-b missing'],
  );
  t.same(plan.unchanged, []);
});

t.test('given Asterisk holds exactly what we want (as it renders it) when reconciling then nothing is done', async (t) => {
  const d = [desired(login('a')), desired(login('b'))];
  const plan = reconcileEndpoints(d, d.map(observedOf), { tenantId: 1 });
  t.same(plan.actions, []);
  t.same(plan.unchanged, ['agent-1-a', 'agent-1-b']);
});

t.test('given drift when reconciling then only what differs is fixed', async (t) => {
  const a = desired(login('a'));
  const b = desired(login('b'));
  const c = desired(login('c'));
  const observedA = observedOf(a);
  observedA.objects = { ...observedA.objects, auth: { ...observedA.objects.auth, password: 'changed-behind-our-back' } };
  const observedB = observedOf(b);
  delete observedB.objects.endpoint;
  const observedC = observedOf(c);
  observedC.objects = { ...observedC.objects, endpoint: { ...observedC.objects.endpoint, context: 'default', direct_media: 'true' } };
  const plan = reconcileEndpoints([a, b, c], [observedA, observedB, observedC], { tenantId: 1 });
  t.same(
    plan.actions.map((x) => `${x.op} ${x.type} ${x.id} ${x.reason}${x.op === 'put' && x.changed.length ? ' ' + x.changed.join(',') : ''}`),
    ['put auth agent-1-a changed password', 'put endpoint agent-1-b missing', 'put endpoint agent-1-c changed context,direct_media'],
  );
});

t.test('given strays when reconciling then our unknown agent objects go, endpoint first, and nothing else is touched', async (t) => {
  const a = desired(login('a'));
  const stray = observedOf(desired(login('gone')));
  delete stray.objects.aor;
  const otherTenant = observedOf(desired(login('x', 'p', 2)));
  const trunk: ObservedSipEndpoint = { id: 'trunk-provider', objects: { endpoint: { context: 'from-trunk' } } };
  const plan = reconcileEndpoints([a], [trunk, observedOf(a), stray, otherTenant], { tenantId: 1 });
  t.same(plan.actions.map((x) => `${x.op} ${x.type} ${x.id}`), ['delete endpoint agent-1-gone', 'delete auth agent-1-gone']);
  t.same(plan.ignored, ['agent-2-x', 'trunk-provider']);
  t.same(plan.unchanged, ['agent-1-a']);
});

t.test('the plan depends only on the inputs, not their order', async (t) => {
  const d = ['c', 'a', 'b'].map((x) => desired(login(x)));
  const o = [observedOf(desired(login('z'))), observedOf(d[1] as DesiredSipEndpoint)];
  const one = reconcileEndpoints(d, o, { tenantId: 1 });
  const two = reconcileEndpoints([...d].reverse(), [...o].reverse(), { tenantId: 1 });
  t.same(one, two);
});

t.test('a desired endpoint outside the tenant or twice is a bug and refused', async (t) => {
  t.throws(() => reconcileEndpoints([desired(login('a', 'p', 2))], [], { tenantId: 1 }), RangeError);
  t.throws(() => reconcileEndpoints([desired(login('a')), desired(login('a'))], [], { tenantId: 1 }), RangeError);
});
