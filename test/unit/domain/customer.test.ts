import t from 'tap';
import {
  checkMerge, checkUndo, displayNameHint, encodeThreadCursor, identityKey, maskAddress, normaliseAddress, normaliseEmail, normalisePhone, parseThreadCursor, planAddIdentity, planResolve,
  sameAddressChannels, suggestionPair, type IdentityMatch,
} from '../../../server/domain/customer.js';

const ok = (address: string) => ({ ok: true, address });
const bad = (problem: string) => ({ ok: false, problem });

t.test('given phone numbers written in different ways', async (t) => {
  t.test('when normalised with default country code 34 then every form of one Spanish number is one address', async (t) => {
    for (const raw of ['+34600111222', '+34 600 11 12 22', '0034600111222', '0034 (600) 111-222', '34600111222', '600111222', ' 600.111.222 ']) {
      t.same(normalisePhone(raw, '34'), ok('+34600111222'), raw);
    }
  });

  t.test('when a national number has a trunk prefix 0 then it is replaced by the country code', async (t) => {
    t.same(normalisePhone('030 1234567', '49'), ok('+49301234567'));
    t.same(normalisePhone('+49 30 1234567', '49'), ok('+49301234567'));
    t.same(normalisePhone('020 7946 0018', '44'), ok('+442079460018'));
  });

  t.test('when North American numbers are written with and without the 1 then they are one address', async (t) => {
    for (const raw of ['(415) 555-0123', '4155550123', '14155550123', '+1 415 555 0123', '001 415 555 0123']) t.same(normalisePhone(raw, '1'), ok('+14155550123'), raw);
  });

  t.test('when a bare number starts with the country code but is too short to carry a national number then it is national', async (t) => {
    t.same(normalisePhone('3412345', '34'), ok('+343412345'), '34 followed by only 5 digits');
    t.same(normalisePhone('1001', '1'), ok('+11001'), 'an extension-like number still maps to itself consistently');
  });

  t.test('when no default country code is set then international forms agree and national ones keep their digits', async (t) => {
    t.same(normalisePhone('+34 600 111 222'), ok('+34600111222'));
    t.same(normalisePhone('0034600111222'), ok('+34600111222'));
    t.same(normalisePhone('600 111 222'), ok('600111222'));
    t.same(normalisePhone('0600111222'), ok('0600111222'));
  });

  t.test('when a result is normalised again then it does not change (idempotent)', async (t) => {
    for (const cc of ['', '1', '34', '353']) {
      for (const raw of ['+34600111222', '600111222', '0301234567', '14155550123', '5551234', '00353 1 234 5678']) {
        const once = normalisePhone(raw, cc);
        if (!once.ok) continue;
        t.same(normalisePhone(once.address, cc), once, `${raw} with cc "${cc}"`);
      }
    }
  });

  t.test('when the caller ID is withheld, empty or not a number then it is refused with the reason', async (t) => {
    t.same(normalisePhone('', '34'), bad('empty'));
    t.same(normalisePhone('   ', '34'), bad('empty'));
    t.same(normalisePhone('anonymous', '34'), bad('withheld'));
    t.same(normalisePhone('Restricted'), bad('withheld'));
    t.same(normalisePhone('600-CALL-NOW', '34'), bad('bad_characters'));
    t.same(normalisePhone('*86', '34'), bad('bad_characters'));
    t.same(normalisePhone('+34+600'), bad('bad_characters'));
    t.same(normalisePhone('12'), bad('too_short'));
    t.same(normalisePhone('+000'), bad('too_short'));
    t.same(normalisePhone('+1234567890123456'), bad('too_long'), '16 digits is past E.164');
    t.same(normalisePhone('12345678901234', '34'), bad('too_long'), 'the country code in front makes 14 digits 16');
    t.same(normalisePhone('1234567890123', '34'), ok('+341234567890123'), 'exactly 15 with the country code is allowed');
  });

  t.test('when the country code setting is malformed then it is a programming error, not a silent guess', async (t) => {
    t.throws(() => normalisePhone('600111222', '034'), RangeError);
    t.throws(() => normalisePhone('600111222', '+34'), RangeError);
  });
});

t.test('given other channels addresses', async (t) => {
  t.test('when an email is normalised then case and surrounding space go, dots and plus tags stay', async (t) => {
    t.same(normaliseEmail('  Ana.Garcia+Shop@Example.COM '), ok('ana.garcia+shop@example.com'));
    t.same(normaliseAddress('email', 'ANA@example.com'), normaliseAddress('email', 'ana@EXAMPLE.com'));
    for (const raw of ['ana', 'ana@', '@example.com', 'ana@example', 'a b@example.com', 'ana@@example.com', 'ana@example..com', 'ana@.example.com']) {
      t.same(normaliseEmail(raw).ok, false, raw);
    }
    t.same(normaliseEmail(`${'a'.repeat(250)}@x.io`), bad('too_long'));
  });

  t.test('when a WeChat OpenID or webchat id is normalised then its case is kept and bad characters are refused', async (t) => {
    t.same(normaliseAddress('wechat', ' oAbC-12_xY '), ok('oAbC-12_xY'));
    t.notSame(normaliseAddress('wechat', 'oABC'), normaliseAddress('wechat', 'oabc'), 'OpenIDs differing in case are two identities');
    t.same(normaliseAddress('wechat', 'o abc'), bad('bad_characters'));
    t.same(normaliseAddress('webchat', 'visitor:42/ä'), bad('bad_characters'));
    t.same(normaliseAddress('webchat', 'visitor:42'), ok('visitor:42'));
    t.same(normaliseAddress('webchat', 'x'.repeat(129)), bad('too_long'));
  });

  t.test('when phone and sms are asked for their sibling channels then each includes the other', async (t) => {
    t.same(sameAddressChannels('phone'), ['phone', 'sms']);
    t.same(sameAddressChannels('sms'), ['phone', 'sms']);
    t.same(sameAddressChannels('email'), ['email']);
    t.same(normaliseAddress('sms', '600111222', '34'), normaliseAddress('phone', '+34 600 111 222', '34'));
  });

  t.test('when keys and masks are made then keys name the channel and masks hide the middle', async (t) => {
    t.equal(identityKey('phone', '+34600111222'), 'phone:+34600111222');
    t.not(identityKey('phone', '+34600111222'), identityKey('sms', '+34600111222'));
    t.equal(maskAddress('+34600111222'), '+346•••••222');
    t.equal(maskAddress('ana.garcia@example.com'), 'a•••@example.com');
    t.equal(maskAddress('12345'), '•••••');
  });
});

t.test('given a caller ID name when a new customer is named from it then only a real name is kept', async (t) => {
  t.equal(displayNameHint('  Ana   García ', '+34600111222'), 'Ana García');
  t.equal(displayNameHint('', '600111222'), null);
  t.equal(displayNameHint(undefined, '600111222'), null);
  t.equal(displayNameHint('Anonymous', ''), null);
  t.equal(displayNameHint('+34 600 111 222', '+34600111222'), null, 'the number again is no name');
  t.equal(displayNameHint('x'.repeat(300), '1')?.length, 200);
});

t.test('given an identity claim to resolve', async (t) => {
  const phone = { channel: 'phone' as const, address: '+34600111222', verified: false };
  const m = (identityId: string, channel: IdentityMatch['channel'], customerId: string, verified = false): IdentityMatch => ({ identityId, channel, customerId, verified });

  t.test('when nothing holds the address then a customer is created', async (t) => {
    t.same(planResolve(phone, []), { kind: 'create' });
  });

  t.test('when the same channel holds it then that customer is found and the identity touched, no suggestion', async (t) => {
    t.same(planResolve(phone, [m('7', 'phone', '12')]), { kind: 'existing', customerId: '12', touchIdentityId: '7', verify: false, suggestions: [] });
  });

  t.test('when only the sibling channel holds it then that customer is found and the claim is to be attached (no touch id)', async (t) => {
    const plan = planResolve(phone, [m('8', 'sms', '12')]);
    t.same(plan, { kind: 'existing', customerId: '12', verify: false, suggestions: [] });
  });

  t.test('when two customers hold the address then the own channel wins and the other becomes a suggestion, never a merge', async (t) => {
    const plan = planResolve(phone, [m('8', 'sms', '3'), m('7', 'phone', '12')]);
    t.same(plan, { kind: 'existing', customerId: '12', touchIdentityId: '7', verify: false, suggestions: [{ customerId: '12', otherId: '3', reason: 'shared_address' }] });
  });

  t.test('when two customers hold it on sibling channels only then the verified holder, else the oldest customer, is chosen', async (t) => {
    const email = { channel: 'email' as const, address: 'x@y.io', verified: false };
    t.equal((planResolve(phone, [m('1', 'sms', '30'), m('2', 'sms', '4', true)]) as { customerId: string }).customerId, '4', 'verified holder');
    t.equal((planResolve(email, []) as { kind: string }).kind, 'create');
    const oldest = planResolve({ ...phone, channel: 'sms' }, [m('1', 'phone', '100'), m('2', 'phone', '99')]);
    t.equal((oldest as { customerId: string }).customerId, '99', 'ids compare as numbers: 99 is older than 100');
  });

  t.test('when a verified claim meets an unverified stored identity then the identity becomes verified', async (t) => {
    t.equal((planResolve({ ...phone, verified: true }, [m('7', 'phone', '12')]) as { verify: boolean }).verify, true);
    t.equal((planResolve({ ...phone, verified: true }, [m('7', 'phone', '12', true)]) as { verify: boolean }).verify, false, 'already verified');
    t.equal((planResolve(phone, [m('7', 'phone', '12', true)]) as { verify: boolean }).verify, false, 'an unverified claim never un-verifies');
  });
});

t.test('given an identity added to a customer by hand', async (t) => {
  t.test('when nobody holds it then it is inserted; when the customer holds it then it is kept or verified', async (t) => {
    t.same(planAddIdentity('5', false, undefined), { kind: 'insert' });
    t.same(planAddIdentity('5', false, { identityId: '9', customerId: '5', verified: false }), { kind: 'unchanged', identityId: '9' });
    t.same(planAddIdentity('5', true, { identityId: '9', customerId: '5', verified: false }), { kind: 'verify', identityId: '9' });
    t.same(planAddIdentity('5', false, { identityId: '9', customerId: '5', verified: true }), { kind: 'unchanged', identityId: '9' });
  });

  t.test('when another customer holds it then it is a conflict, suggested for a merge only when the claim is verified', async (t) => {
    t.same(planAddIdentity('5', false, { identityId: '9', customerId: '6', verified: true }), { kind: 'conflict', otherCustomerId: '6', suggest: false });
    t.same(planAddIdentity('5', true, { identityId: '9', customerId: '6', verified: false }), { kind: 'conflict', otherCustomerId: '6', suggest: true });
  });

  t.test('when a pair is ordered then it is the same either way round, numerically', async (t) => {
    t.same(suggestionPair('12', '3'), ['3', '12']);
    t.same(suggestionPair('3', '12'), ['3', '12']);
  });
});

t.test('given merges and their undo', async (t) => {
  const live = (id: string) => ({ id, mergedInto: null });
  t.test('when a customer is merged into itself or into / from a merged one then it is refused with the field or the survivor', async (t) => {
    t.equal(checkMerge(live('1'), live('1'))?.code, 'customer.merge_into_self');
    t.equal(checkMerge(live('1'), live('1'))?.details?.field, 'body.otherId');
    const e = checkMerge({ id: '1', mergedInto: '9' }, live('2'));
    t.equal(e?.code, 'customer_merged');
    t.equal(e?.kind, 'conflict');
    t.equal(e?.details?.mergedInto, '9');
    t.equal(checkMerge(live('1'), { id: '2', mergedInto: '9' })?.details?.field, 'body.otherId');
    t.equal(checkMerge(live('1'), live('2')), undefined);
  });

  t.test('when a merge is undone twice, after its survivor was merged on, or after it changed then it is refused', async (t) => {
    const merge = { id: '40', survivorId: '1', mergedId: '2', undone: false };
    t.equal(checkUndo(merge, live('1'), { id: '2', mergedInto: '1' }), undefined);
    t.equal(checkUndo({ ...merge, undone: true }, live('1'), { id: '2', mergedInto: '1' })?.code, 'merge_already_undone');
    const sup = checkUndo(merge, { id: '1', mergedInto: '7' }, { id: '2', mergedInto: '1' }, '41');
    t.equal(sup?.code, 'merge_superseded');
    t.same(sup?.details, { mergeId: '40', survivorMergedInto: '7', undoFirst: '41' });
    t.equal(checkUndo(merge, live('1'), live('2'))?.code, 'merge_state_changed');
  });
});

t.test('given thread cursors', async (t) => {
  const iso = (s: string): number | undefined => {
    const n = Date.parse(s);
    return Number.isNaN(n) || !/^\d{4}-\d{2}-\d{2}T/.test(s) ? undefined : n;
  };
  t.test('when a cursor is encoded and read back then it is the same position, ids with colons and dots included', async (t) => {
    const c = { at: 1_790_000_000_123, interactionId: '1790000000.12:x' };
    t.same(parseThreadCursor(encodeThreadCursor(c), iso), c);
  });
  t.test('when before is an instant then the position excludes that instant; when it is neither then undefined', async (t) => {
    t.same(parseThreadCursor('2026-06-01T12:00:00.000Z', iso), { at: Date.UTC(2026, 5, 1, 12), interactionId: '' });
    t.equal(parseThreadCursor('yesterday', iso), undefined);
    t.equal(parseThreadCursor('123:', iso), undefined);
  });
});
