/**
 * Customers on MariaDB with the real app: resolution of identities (the call the voice service
 * makes at arrival), identities added by hand, merge suggestions, merges and their undo, the
 * thread, roles and bad input. Resolution and linking go through a customer service built over
 * the app's own pool, events and audit log (the same code the app wires); everything else goes
 * through the HTTP API. Interactions are seeded as rows of the voice module's table.
 */
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { isAppError } from '../../server/domain/errors.js';
import { createAuditLog } from '../../server/infra/audit.js';
import { createSilentLogger } from '../../server/infra/logger.js';
import type { RowDataPacket } from '../../server/infra/mysql.js';
import { createCustomerService, type CustomerService } from '../../server/modules/customers/service.js';
import { createCustomerStore, createInteractionThreadSource } from '../../server/modules/customers/store.js';
import { bearer, buildTestApp, loginAs, uniqueId } from '../helpers/app.js';

const T0 = Date.UTC(2026, 4, 4, 9, 0, 0);
const MIN = 60_000;

let seq = 0;
/** A Spanish mobile number nobody in this file has used (national form, 9 digits). */
const newNumber = (): string => `6${String(Date.now() % 1e4).padStart(4, '0')}${String(seq++).padStart(4, '0')}`;

t.test('given the app with default country code 34', async (t) => {
  const app: FastifyInstance = await buildTestApp(t, { IPCC_CUSTOMER_DEFAULT_COUNTRY_CODE: '34', IPCC_ROUTER: 'false' });
  const events: { name: string; payload: unknown }[] = [];
  for (const name of ['customer.created', 'customer.merged', 'customer.unmerged', 'customer.merge_suggested'] as const) {
    app.events.subscribe(name, (payload) => events.push({ name, payload }));
  }
  const customers: CustomerService = createCustomerService({
    store: createCustomerStore(app.mysql, app.mysqlScripts),
    threadSource: createInteractionThreadSource(app.mysql),
    audit: createAuditLog(app.mysql),
    events: app.events,
    clock: app.clock,
    log: createSilentLogger(),
    tenantId: app.tenantId,
    defaultCountryCode: '34',
  });
  const admin = bearer((await loginAs(app, ['admin'])).token);
  const sup = bearer((await loginAs(app, ['supervisor'])).token);
  const agent = bearer((await loginAs(app, ['agent'])).token);
  const qa = bearer((await loginAs(app, ['qa'])).token);
  const keyRes = await app.inject({ method: 'POST', url: '/v1/api-keys', headers: admin, payload: { name: 'crm', roles: ['integration'] } });
  const integration = { 'x-api-key': keyRes.json().key as string };

  const get = (url: string, headers = agent) => app.inject({ method: 'GET', url, headers });
  const send = (method: 'POST' | 'PATCH', url: string, payload: unknown, headers = sup) => app.inject({ method, url, headers, payload: payload as object });
  const call = async (number: string, at = T0, displayName?: string) => {
    const r = await customers.resolve({ channel: 'phone', address: number, verified: false, at, ...(displayName ? { displayName } : {}) });
    if (!r) throw new Error(`no customer for ${number}`);
    return r;
  };
  /** An interaction row as the voice module writes it, linked to a customer. */
  const interaction = async (customerId: string, at: number, extra: { queue?: string; agent?: string; outcome?: string; id?: string } = {}) => {
    const id = extra.id ?? uniqueId('i');
    await app.mysql.query(
      'INSERT INTO interactions (tenant_id, id, channel, customer_number, started_at, first_answered_at, ended_at, first_queue_id, last_queue_id, last_agent_id, outcome, talk_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [app.tenantId, id, 'voice', 'x', new Date(at), new Date(at + 20_000), new Date(at + 200_000), extra.queue ?? 'sales', extra.queue ?? 'sales', extra.agent ?? 'ana', extra.outcome ?? 'completed', 180_000],
    );
    await customers.linkInteraction(customerId, id, 'voice', at);
    return id;
  };
  const countRows = async (sql: string, params: unknown[]) => Number(((await app.mysql.query<RowDataPacket[]>(sql, params))[0][0] as RowDataPacket).n);
  const auditCount = (action: string, target: string) => countRows('SELECT COUNT(*) AS n FROM audit_log WHERE tenant_id = ? AND action = ? AND target = ?', [app.tenantId, action, target]);

  await t.test('given one number written four ways when it calls four times then it is one customer, made by the first call only', async (t) => {
    const n = newNumber();
    const forms = [n, `+34 ${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}`, `0034${n}`, `34${n}`];
    const first = await call(forms[0] as string, T0, 'Ana García');
    t.equal(first.created, true);
    t.equal(first.displayName, 'Ana García', 'named from the caller ID name');
    t.same(first.identities.map((i) => [i.channel, i.address, i.verified]), [['phone', `+34${n}`, false]]);
    t.equal(first.interactionsCount, 0);
    for (const [i, f] of forms.slice(1).entries()) {
      const again = await call(f, T0 + (i + 1) * MIN, 'Someone Else');
      t.equal(again.customerId, first.customerId, f);
      t.equal(again.created, false);
      t.equal(again.displayName, 'Ana García', 'a later caller name does not rename the customer');
      t.equal(again.identities.length, 1);
      t.equal(again.identities[0]?.lastSeenAt, new Date(T0 + (i + 1) * MIN).toISOString(), 'last seen moves with each call');
    }
    t.equal(await countRows('SELECT COUNT(*) AS n FROM customer_identities WHERE tenant_id = ? AND address = ?', [app.tenantId, `+34${n}`]), 1);
    const lookup = await get(`/v1/customers?phone=${encodeURIComponent(`+34 ${n}`)}`);
    t.equal(lookup.statusCode, 200, lookup.body);
    t.same(lookup.json().items.map((c: { id: string }) => c.id), [first.customerId], 'the HTTP lookup normalises with the configured country code');
    t.equal(events.filter((e) => e.name === 'customer.created' && (e.payload as { customerId: string }).customerId === first.customerId).length, 1);
  });

  await t.test('given a new number when it calls then it is a new customer; a withheld number is nobody', async (t) => {
    const a = await call(newNumber());
    const b = await call(newNumber());
    t.ok(a.created && b.created);
    t.not(a.customerId, b.customerId);
    const before = await countRows('SELECT COUNT(*) AS n FROM customers WHERE tenant_id = ?', [app.tenantId]);
    for (const raw of ['', 'anonymous', 'Restricted', '*31#']) t.equal(await customers.resolve({ channel: 'phone', address: raw, verified: false, at: T0 }), null, JSON.stringify(raw));
    t.equal(await countRows('SELECT COUNT(*) AS n FROM customers WHERE tenant_id = ?', [app.tenantId]), before, 'no customer made for them');
  });

  await t.test('given eight calls from one new number at once when resolved then there is one customer, not eight', async (t) => {
    const n = newNumber();
    const all = await Promise.all(Array.from({ length: 8 }, (_, i) => call(i % 2 ? `+34${n}` : n, T0 + i)));
    t.equal(new Set(all.map((r) => r.customerId)).size, 1, 'every call got the same customer');
    t.equal(all.filter((r) => r.created).length, 1, 'exactly one call made it');
    t.equal(await countRows('SELECT COUNT(*) AS n FROM customer_identities WHERE tenant_id = ? AND address = ?', [app.tenantId, `+34${n}`]), 1);
    t.equal(await countRows("SELECT COUNT(*) AS n FROM customers c WHERE tenant_id = ? AND NOT EXISTS (SELECT 1 FROM customer_identities i WHERE i.customer_id = c.id)", [app.tenantId]), 0, 'the losers left no empty customer behind');
  });

  await t.test('given a number known by SMS when it calls then the same customer gets a phone identity too', async (t) => {
    const n = newNumber();
    const bySms = await customers.resolve({ channel: 'sms', address: `+34${n}`, verified: false, at: T0 });
    const byPhone = await call(n, T0 + MIN);
    t.equal(byPhone.customerId, bySms?.customerId);
    t.equal(byPhone.created, false);
    t.same(byPhone.identities.map((i) => i.channel).sort(), ['phone', 'sms']);
    const rec = (await get(`/v1/customers/${byPhone.customerId}`)).json();
    t.same(rec.identities.map((i: { channel: string }) => i.channel).sort(), ['phone', 'sms'], 'stored, not only returned');
  });

  await t.test('given one address held by two customers when it calls then it resolves to the one of its own channel and the pair becomes one suggestion', async (t) => {
    const n = newNumber();
    const a = await call(n);
    const b = await customers.resolve({ channel: 'email', address: `${uniqueId('b')}@example.com`, verified: true, at: T0 });
    if (!b) throw new Error('email customer');
    const added = await send('POST', `/v1/customers/${b.customerId}/identities`, { channel: 'sms', address: `0034${n}` });
    t.equal(added.statusCode, 201, 'an sms identity is another channel: no unique-key conflict');
    const suggestedBefore = events.filter((e) => e.name === 'customer.merge_suggested').length;
    const r1 = await call(n, T0 + MIN);
    const r2 = await call(n, T0 + 2 * MIN);
    t.equal(r1.customerId, a.customerId, 'the phone identity decides');
    t.equal(r2.customerId, a.customerId);
    t.equal(events.filter((e) => e.name === 'customer.merge_suggested').length, suggestedBefore + 1, 'suggested once, not at every call');
    const list = await get(`/v1/customers/${a.customerId}/merge-suggestions`, sup);
    t.equal(list.statusCode, 200, list.body);
    t.equal(list.json().items.length, 1);
    t.match(list.json().items[0], { customerId: a.customerId, otherId: b.customerId, reason: 'shared_address', channel: 'phone', address: `+34${n}`, seen: 2 });
    t.equal((await get(`/v1/customers/${b.customerId}`)).json().mergedInto, null, 'never merged by itself');
    const dismissed = await send('POST', `/v1/customer-merge-suggestions/${list.json().items[0].id}/dismiss`, undefined);
    t.equal(dismissed.statusCode, 204, dismissed.body);
    t.same((await get(`/v1/customers/${a.customerId}/merge-suggestions`, sup)).json().items, []);
    t.equal(await auditCount('customer.suggestion_dismiss', list.json().items[0].id), 1);
    t.equal((await send('POST', `/v1/customer-merge-suggestions/${list.json().items[0].id}/dismiss`, undefined)).statusCode, 404, 'only open ones');
  });

  await t.test('given identities added over the API when they are new, known or another customer\'s then 201, 200 or 409 naming the holder', async (t) => {
    const a = await call(newNumber());
    const b = await call(newNumber());
    const email = `${uniqueId('ana')}@Example.com`;
    const add = (cid: string, body: object, headers = sup) => send('POST', `/v1/customers/${cid}/identities`, body, headers);
    const first = await add(a.customerId, { channel: 'email', address: `  ${email.toUpperCase()} `, verified: true });
    t.equal(first.statusCode, 201, first.body);
    t.match(first.json().identity, { channel: 'email', address: email.toLowerCase(), verified: true });
    t.equal(first.json().customer.identities.length, 2);
    t.equal(await auditCount('customer.identity_add', a.customerId), 1);
    const again = await add(a.customerId, { channel: 'email', address: email });
    t.equal(again.statusCode, 200, 'already theirs: unchanged');
    t.equal(again.json().identity.verified, true, 'an unverified claim does not un-verify');

    const unverified = await add(b.customerId, { channel: 'email', address: email });
    t.equal(unverified.statusCode, 409);
    t.equal(unverified.json().code, 'identity_taken');
    t.equal(unverified.json().details.customerId, a.customerId);
    t.equal(unverified.json().details.suggestionId, undefined, 'an unverified claim suggests nothing');
    const verified = await add(b.customerId, { channel: 'email', address: email, verified: true });
    t.equal(verified.statusCode, 409);
    t.equal(verified.json().details.customerId, a.customerId);
    t.type(verified.json().details.suggestionId, 'string', 'a verified claim records a merge suggestion');
    const sugg = (await get(`/v1/customers/${b.customerId}/merge-suggestions`, sup)).json().items;
    t.match(sugg, [{ id: verified.json().details.suggestionId, otherId: a.customerId, reason: 'verified_identity_conflict' }]);
    t.equal((await get(`/v1/customers/${b.customerId}`)).json().identities.length, 1, 'b did not get the address');

    const phoneOfA = a.identities[0]?.address as string;
    const verifyPhone = await add(a.customerId, { channel: 'phone', address: phoneOfA, verified: true });
    t.equal(verifyPhone.statusCode, 200);
    t.equal(verifyPhone.json().identity.verified, true, 'a verified claim on its own identity verifies it');
    t.equal(await auditCount('customer.identity_verify', a.customerId), 1);

    const byKey = await add(b.customerId, { channel: 'wechat', address: 'oAbC_12-x' }, integration);
    t.equal(byKey.statusCode, 201, 'an integration may add identities');
    t.equal((await add(b.customerId, { channel: 'wechat', address: 'oabc_12-x' }, integration)).statusCode, 201, 'OpenIDs are case-sensitive');
    t.equal((await get(`/v1/customers/${b.customerId}`, integration)).statusCode, 200, 'and read customers');
  });

  await t.test('given bad identity input when added then 400 naming the field, 404 for an unknown customer', async (t) => {
    const a = await call(newNumber());
    const add = (cid: string, body: unknown) => send('POST', `/v1/customers/${cid}/identities`, body);
    const badEmail = await add(a.customerId, { channel: 'email', address: 'not-an-email' });
    t.equal(badEmail.statusCode, 400);
    t.equal(badEmail.json().code, 'customer.address_invalid');
    t.equal(badEmail.json().details.field, 'body.address');
    const badPhone = await add(a.customerId, { channel: 'phone', address: 'anonymous' });
    t.equal(badPhone.json().details.problem, 'withheld');
    const badChannel = await add(a.customerId, { channel: 'fax', address: '1234' });
    t.equal(badChannel.statusCode, 400);
    t.equal(badChannel.json().code, 'validation_failed');
    t.ok(badChannel.json().details.fields.some((f: { field: string }) => f.field === 'body.channel'));
    const extra = await add(a.customerId, { channel: 'email', address: 'a@b.io', primary: true });
    t.ok(extra.json().details.fields.some((f: { field: string }) => f.field === 'body.primary'));
    const missing = await add('999999999', { channel: 'email', address: 'a@b.io' });
    t.equal(missing.statusCode, 404);
    t.equal(missing.json().code, 'customer_not_found');
  });

  await t.test('given a customer with interactions when the thread is read then newest first, paged without gaps or repeats', async (t) => {
    const c = await call(newNumber());
    const ids: string[] = [];
    // Five interactions an hour apart, and two more that started at the same instant (ties break by id).
    for (let i = 0; i < 5; i++) ids.push(await interaction(c.customerId, T0 + i * 60 * MIN, { queue: `q${i}`, agent: `agent${i}`, outcome: i === 4 ? 'abandoned' : 'completed' }));
    const tie = T0 + 10 * 60 * MIN;
    ids.push(await interaction(c.customerId, tie, { id: `${uniqueId('tie')}-a` }), await interaction(c.customerId, tie, { id: `${uniqueId('tie')}-b` }));
    // A chat interaction the voice module has no row for: shown from the link alone.
    const chatId = uniqueId('chat');
    await customers.linkInteraction(c.customerId, chatId, 'chat', T0 + 30 * MIN);
    const expected = [
      ...[ids[5] as string, ids[6] as string].sort().reverse(),
      ids[4], ids[3], ids[2], ids[1], chatId, ids[0],
    ];
    const seen: string[] = [];
    let before: string | null = null;
    let pages = 0;
    do {
      const res = await get(`/v1/customers/${c.customerId}/thread?limit=3${before ? `&before=${encodeURIComponent(before)}` : ''}`);
      t.equal(res.statusCode, 200, res.body);
      const body = res.json();
      t.ok(body.items.length <= 3);
      seen.push(...body.items.map((i: { interactionId: string }) => i.interactionId));
      before = body.next;
      pages++;
    } while (before && pages < 10);
    t.same(seen, expected, 'every interaction once, newest first, ties by id');
    t.equal(pages, 3, '8 items in pages of 3');

    const newest = (await get(`/v1/customers/${c.customerId}/thread?limit=8`)).json().items;
    const fifth = newest.find((i: { interactionId: string }) => i.interactionId === ids[4]);
    t.match(fifth, { channel: 'voice', startedAt: new Date(T0 + 240 * MIN).toISOString(), answeredAt: new Date(T0 + 240 * MIN + 20_000).toISOString(), queueId: 'q4', agentId: 'agent4', outcome: 'abandoned', talkMs: 180_000 });
    t.match(newest.find((i: { interactionId: string }) => i.interactionId === chatId), { channel: 'chat', startedAt: new Date(T0 + 30 * MIN).toISOString(), outcome: null, agentId: null });

    const byInstant = await get(`/v1/customers/${c.customerId}/thread?before=${encodeURIComponent(new Date(T0 + 120 * MIN).toISOString())}`);
    t.same(byInstant.json().items.map((i: { interactionId: string }) => i.interactionId), [ids[1], chatId, ids[0]], 'an instant excludes itself');
    const summary = await call(c.identities[0]?.address as string, T0 + 11 * 60 * MIN);
    t.equal(summary.interactionsCount, 8, 'resolve reports the thread size for the screen-pop');
    t.equal(summary.lastInteractionAt, new Date(tie).toISOString());

    for (const q of ['before=yesterday', 'limit=0', 'limit=101', 'limit=ten', 'page=2']) {
      const bad = await get(`/v1/customers/${c.customerId}/thread?${q}`);
      t.equal(bad.statusCode, 400, q);
      t.equal(bad.json().code, 'validation_failed', q);
      t.ok(bad.json().details.fields.length > 0, `${q} names the field`);
    }
    t.equal((await get('/v1/customers/999999999/thread')).statusCode, 404);
  });

  await t.test('given an interaction linked twice or to another customer when linked then the first link stands', async (t) => {
    const a = await call(newNumber());
    const b = await call(newNumber());
    const id = await interaction(a.customerId, T0);
    t.same(await customers.linkInteraction(a.customerId, id, 'voice', T0), { customerId: a.customerId, linked: false }, 'again: no change');
    const elsewhere = await customers.linkInteraction(b.customerId, id, 'voice', T0).catch((e: unknown) => e);
    t.ok(isAppError(elsewhere) && elsewhere.code === 'interaction_linked_elsewhere' && elsewhere.kind === 'conflict', String(elsewhere));
    const unknown = await customers.linkInteraction('999999999', uniqueId('i'), 'voice', T0).catch((e: unknown) => e);
    t.ok(isAppError(unknown) && unknown.code === 'customer_not_found');
    const badChannel = await customers.linkInteraction(a.customerId, uniqueId('i'), 'fax' as never, T0).catch((e: unknown) => e);
    t.ok(isAppError(badChannel) && badChannel.kind === 'invalid');
  });

  await t.test('given links made in one round trip when one is new, repeated or older then only a new link moves the customer on, never back', async (t) => {
    const store = createCustomerStore(app.mysql, app.mysqlScripts);
    const c = await call(newNumber(), T0);
    const updatedAt = async () => ((await store.get(app.tenantId, c.customerId)) as { updatedAt: string }).updatedAt;
    t.equal(await updatedAt(), new Date(T0).toISOString());
    const first = uniqueId('i');
    const link = (interactionId: string, at: number) => store.link(app.tenantId, { customerId: c.customerId, interactionId, channel: 'voice', startedAt: at, at });
    t.same(await link(first, T0 + 60 * MIN), { customerId: c.customerId, liveId: c.customerId, linked: true });
    t.equal(await updatedAt(), new Date(T0 + 60 * MIN).toISOString(), 'a new link moves the customer on');
    t.same(await link(first, T0 + 120 * MIN), { customerId: c.customerId, liveId: c.customerId, linked: false });
    t.equal(await updatedAt(), new Date(T0 + 60 * MIN).toISOString(), 'linking again changes nothing');
    t.same(await link(uniqueId('i'), T0 + 30 * MIN), { customerId: c.customerId, liveId: c.customerId, linked: true });
    t.equal(await updatedAt(), new Date(T0 + 60 * MIN).toISOString(), 'an older link never moves it back');
    t.equal(await countRows('SELECT COUNT(*) AS n FROM interaction_customers WHERE tenant_id = ? AND customer_id = ?', [app.tenantId, c.customerId]), 2);
    t.equal(await store.link(app.tenantId, { customerId: '999999998', interactionId: uniqueId('i'), channel: 'voice', startedAt: T0, at: T0 }), undefined, 'an unknown customer: nothing linked');
  });

  await t.test('given two customers with histories when merged then one thread shows both, and undo gives each its own back', async (t) => {
    const a = await call(newNumber());
    const bNumber = newNumber();
    const b = await call(bNumber);
    const a1 = await interaction(a.customerId, T0);
    const a2 = await interaction(a.customerId, T0 + 2 * MIN);
    const b1 = await interaction(b.customerId, T0 + MIN);
    const thread = async (cid: string) => (await get(`/v1/customers/${cid}/thread`)).json();

    const merged = await send('POST', `/v1/customers/${a.customerId}/merge`, { otherId: b.customerId, reason: 'same person, two phones' });
    t.equal(merged.statusCode, 200, merged.body);
    const m = merged.json();
    t.match(m, { survivorId: a.customerId, mergedId: b.customerId, reason: 'same person, two phones', undoneAt: null, movedIdentities: 1, movedInteractions: 1 });
    t.same((await thread(a.customerId)).items.map((i: { interactionId: string }) => i.interactionId), [a2, b1, a1], 'both histories, in order');
    const viaB = await thread(b.customerId);
    t.equal(viaB.customerId, a.customerId, "the merged customer's thread is the survivor's");
    t.equal(viaB.items.length, 3);
    t.equal((await get(`/v1/customers/${b.customerId}`)).json().mergedInto, a.customerId);
    const survivor = (await get(`/v1/customers/${a.customerId}`)).json();
    t.equal(survivor.identities.length, 2);
    t.equal(survivor.interactionsCount, 3);
    t.equal((await call(bNumber, T0 + 5 * MIN)).customerId, a.customerId, "b's number now finds the survivor");
    const late = uniqueId('late');
    t.same(await customers.linkInteraction(b.customerId, late, 'voice', T0 + 6 * MIN), { customerId: a.customerId, linked: true }, 'a link to the merged id goes to the survivor');
    t.equal(await auditCount('customer.merge', a.customerId), 1);
    t.ok(events.some((e) => e.name === 'customer.merged' && (e.payload as { mergeId: string }).mergeId === m.id));
    t.equal((await get(`/v1/customer-merges/${m.id}`, sup)).json().by, (await app.inject({ method: 'GET', url: '/v1/auth/me', headers: sup })).json().name);

    const twice = await send('POST', `/v1/customers/${a.customerId}/merge`, { otherId: b.customerId, reason: 'again' });
    t.equal(twice.statusCode, 409);
    t.equal(twice.json().code, 'customer_merged');
    t.equal(twice.json().details.mergedInto, a.customerId);
    t.equal(twice.json().details.field, 'body.otherId');
    const intoMerged = await send('POST', `/v1/customers/${b.customerId}/merge`, { otherId: a.customerId, reason: 'x' });
    t.equal(intoMerged.statusCode, 409);
    const renameMerged = await send('PATCH', `/v1/customers/${b.customerId}`, { displayName: 'B' });
    t.equal(renameMerged.json().code, 'customer_merged', 'a merged customer is read-only');

    const undone = await send('POST', `/v1/customer-merges/${m.id}/undo`, { reason: 'two people after all' });
    t.equal(undone.statusCode, 200, undone.body);
    t.match(undone.json(), { id: m.id, undoReason: 'two people after all' });
    t.type(undone.json().undoneAt, 'string');
    t.same((await thread(a.customerId)).items.map((i: { interactionId: string }) => i.interactionId), [late, a2, a1], "a's own, with what came to it after the merge");
    t.same((await thread(b.customerId)).items.map((i: { interactionId: string }) => i.interactionId), [b1]);
    t.equal((await get(`/v1/customers/${b.customerId}`)).json().mergedInto, null);
    t.equal((await call(bNumber, T0 + 7 * MIN)).customerId, b.customerId, "b's number finds b again");
    t.equal(await auditCount('customer.merge_undo', a.customerId), 1);
    t.ok(events.some((e) => e.name === 'customer.unmerged' && (e.payload as { mergeId: string }).mergeId === m.id));
    const again = await send('POST', `/v1/customer-merges/${m.id}/undo`, {});
    t.equal(again.statusCode, 409);
    t.equal(again.json().code, 'merge_already_undone');
    t.equal((await send('POST', '/v1/customer-merges/999999999/undo', {})).statusCode, 404);
    t.equal((await app.inject({ method: 'POST', url: `/v1/customer-merges/${m.id}/undo`, headers: sup })).json().code, 'merge_already_undone', 'the undo body is optional');
  });

  await t.test('given a chain of merges when the inner one is undone first then it is refused until the outer one is undone', async (t) => {
    const [a, b, c] = [await call(newNumber()), await call(newNumber()), await call(newNumber())];
    const cInt = await interaction(c.customerId, T0);
    const mCB = (await send('POST', `/v1/customers/${b.customerId}/merge`, { otherId: c.customerId, reason: 'c is b' })).json();
    const mBA = (await send('POST', `/v1/customers/${a.customerId}/merge`, { otherId: b.customerId, reason: 'b is a' })).json();
    t.equal(mBA.movedIdentities, 2, "b's own identity and the one that came from c");
    t.same((await get(`/v1/customers/${c.customerId}/thread`)).json(), { customerId: a.customerId, items: [(await get(`/v1/customers/${a.customerId}/thread`)).json().items[0]], next: null });
    t.equal((await get(`/v1/customers/${a.customerId}/thread`)).json().items[0].interactionId, cInt);
    const early = await send('POST', `/v1/customer-merges/${mCB.id}/undo`, {});
    t.equal(early.statusCode, 409);
    t.equal(early.json().code, 'merge_superseded');
    t.equal(early.json().details.undoFirst, mBA.id);
    t.equal((await send('POST', `/v1/customer-merges/${mBA.id}/undo`, {})).statusCode, 200);
    t.equal((await send('POST', `/v1/customer-merges/${mCB.id}/undo`, {})).statusCode, 200);
    for (const x of [a, b, c]) t.equal((await get(`/v1/customers/${x.customerId}`)).json().identities.length, 1, `customer ${x.customerId} has its own identity back`);
    t.equal((await get(`/v1/customers/${c.customerId}/thread`)).json().items[0].interactionId, cInt);
  });

  await t.test('given bad merge requests when sent then 400 naming the field or 404', async (t) => {
    const a = await call(newNumber());
    const self = await send('POST', `/v1/customers/${a.customerId}/merge`, { otherId: a.customerId, reason: 'x' });
    t.equal(self.statusCode, 400);
    t.equal(self.json().code, 'customer.merge_into_self');
    const unknownOther = await send('POST', `/v1/customers/${a.customerId}/merge`, { otherId: '999999999', reason: 'x' });
    t.equal(unknownOther.statusCode, 400);
    t.match(unknownOther.json(), { code: 'unknown_reference', details: { field: 'body.otherId' } });
    t.equal((await send('POST', `/v1/customers/999999999/merge`, { otherId: a.customerId, reason: 'x' })).statusCode, 404);
    const noReason = await send('POST', `/v1/customers/${a.customerId}/merge`, { otherId: '5' });
    t.equal(noReason.statusCode, 400);
    t.ok(noReason.json().details.fields.some((f: { field: string }) => f.field === 'body.reason'));
    const badId = await send('POST', `/v1/customers/${a.customerId}/merge`, { otherId: 'abc', reason: 'x' });
    t.ok(badId.json().details.fields.some((f: { field: string }) => f.field === 'body.otherId'));
  });

  await t.test('given lookups and renames when the input is good or bad then 200 or 400 naming the field', async (t) => {
    const a = await call(newNumber());
    const renamed = await send('PATCH', `/v1/customers/${a.customerId}`, { displayName: '  Ana   Pérez ' });
    t.equal(renamed.statusCode, 200, renamed.body);
    t.equal(renamed.json().displayName, 'Ana Pérez');
    t.equal((await get(`/v1/customers/${a.customerId}`)).json().displayName, 'Ana Pérez');
    t.equal(await auditCount('customer.update', a.customerId), 1);
    t.equal((await send('PATCH', `/v1/customers/${a.customerId}`, { displayName: null })).json().displayName, null);
    const extra = await send('PATCH', `/v1/customers/${a.customerId}`, { displayName: 'x', vip: true });
    t.equal(extra.statusCode, 400);
    t.ok(extra.json().details.fields.some((f: { field: string }) => f.field === 'body.vip'));
    t.equal((await send('PATCH', '/v1/customers/999999999', { displayName: 'x' })).statusCode, 404);

    const both = await get('/v1/customers?phone=600111222&email=a@b.io');
    t.equal(both.statusCode, 400);
    t.equal(both.json().code, 'validation_failed');
    t.equal((await get('/v1/customers')).statusCode, 400, 'neither');
    const badPhone = await get('/v1/customers?phone=abc');
    t.equal(badPhone.statusCode, 400);
    t.match(badPhone.json(), { code: 'customer.address_invalid', details: { field: 'query.phone' } });
    t.same((await get(`/v1/customers?phone=${newNumber()}`)).json().items, [], 'an unknown number: found nobody, made nobody');
    const badId = await get('/v1/customers/abc');
    t.equal(badId.statusCode, 400);
    t.ok(badId.json().details.fields.some((f: { field: string }) => f.field === 'params.id'));
    t.equal((await get('/v1/customers/999999999')).json().code, 'customer_not_found');
  });

  await t.test('given each role when it reads and writes customers then only the allowed ones pass', async (t) => {
    const a = await call(newNumber());
    const b = await call(newNumber());
    const cases: [string, 'GET' | 'POST' | 'PATCH', string, object | undefined, Record<string, string>, number][] = [
      ['agent reads', 'GET', `/v1/customers/${a.customerId}`, undefined, agent, 200],
      ['agent reads the thread', 'GET', `/v1/customers/${a.customerId}/thread`, undefined, agent, 200],
      ['qa reads', 'GET', `/v1/customers/${a.customerId}`, undefined, qa, 403],
      ['qa reads the thread', 'GET', `/v1/customers/${a.customerId}/thread`, undefined, qa, 403],
      ['integration reads the thread', 'GET', `/v1/customers/${a.customerId}/thread`, undefined, integration, 403],
      ['agent renames', 'PATCH', `/v1/customers/${a.customerId}`, { displayName: 'x' }, agent, 403],
      ['integration renames', 'PATCH', `/v1/customers/${a.customerId}`, { displayName: 'x' }, integration, 403],
      ['agent adds an identity', 'POST', `/v1/customers/${a.customerId}/identities`, { channel: 'email', address: 'x@y.io' }, agent, 403],
      ['agent merges', 'POST', `/v1/customers/${a.customerId}/merge`, { otherId: b.customerId, reason: 'x' }, agent, 403],
      ['integration merges', 'POST', `/v1/customers/${a.customerId}/merge`, { otherId: b.customerId, reason: 'x' }, integration, 403],
      ['agent lists suggestions', 'GET', `/v1/customers/${a.customerId}/merge-suggestions`, undefined, agent, 403],
      ['agent undoes a merge', 'POST', '/v1/customer-merges/1/undo', {}, agent, 403],
      ['nobody reads', 'GET', `/v1/customers/${a.customerId}`, undefined, {}, 401],
      ['admin renames', 'PATCH', `/v1/customers/${a.customerId}`, { displayName: 'By admin' }, admin, 200],
    ];
    for (const [what, method, url, payload, headers, status] of cases) {
      const res = await app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
      t.equal(res.statusCode, status, `${what}: ${res.body.slice(0, 120)}`);
      if (status === 403) t.equal(res.json().code, 'role_forbidden');
    }
    t.equal((await get(`/v1/customers/${b.customerId}`)).json().mergedInto, null, 'the refused merges did nothing');
  });
});
