import { AppError } from './errors.js';

/**
 * Customers, their identities and the rules that tie them together, pure: how an address is
 * normalised into an identity key, which existing customer an arriving identity resolves to (or
 * whether a new one is made), when two customers are only *suggested* for a merge, and when a
 * merge may be made or undone. No I/O, no clock: the shell reads the rows and passes them in.
 *
 * The rule of the architecture (§6): customers are merged automatically only on verified
 * identifiers; everything else becomes a merge suggestion, and merges are logged and reversible.
 * This first slice never merges by itself: resolution only suggests, people merge.
 */

/** The channels an identity can come from. */
export const IDENTITY_CHANNELS = ['phone', 'sms', 'email', 'webchat', 'wechat'] as const;
export type IdentityChannel = (typeof IDENTITY_CHANNELS)[number];

export const isIdentityChannel = (v: unknown): v is IdentityChannel => typeof v === 'string' && (IDENTITY_CHANNELS as readonly string[]).includes(v);

/**
 * Channels whose addresses are the same kind of thing: a call and an SMS from one number are the
 * same person's number, so a lookup of either also finds the other.
 */
export function sameAddressChannels(channel: IdentityChannel): readonly IdentityChannel[] {
  return channel === 'phone' || channel === 'sms' ? ['phone', 'sms'] : [channel];
}

export type AddressProblem = 'empty' | 'withheld' | 'bad_characters' | 'too_short' | 'too_long' | 'bad_email';

export type Normalised = { ok: true; address: string } | { ok: false; problem: AddressProblem };

const E164_MAX_DIGITS = 15;
const MIN_PHONE_DIGITS = 3;
/** Separators people and carriers put in numbers. */
const PHONE_SEPARATORS = /[\s\-.()/\u00a0]/g;
/** What caller ID says when there is no number to show. */
const WITHHELD = new Set(['anonymous', 'unknown', 'unavailable', 'private', 'restricted', 'withheld', 'asterisk']);

/** A country calling code as a setting gives it: 1–3 digits, no leading zero (34, 1, 353). */
export const COUNTRY_CODE_PATTERN = /^[1-9][0-9]{0,2}$/;

/**
 * A phone number in one canonical form, so that `+34 600 11 12 22`, `0034600111222`,
 * `34600111222` and (with default country code 34) `600111222` are one identity.
 *
 * - `+` or the international prefix `00` starts an international number: its digits are kept.
 * - One leading `0` is a national trunk prefix: it is replaced by the default country code.
 * - Bare digits that already start with the default country code and are long enough to carry
 *   a full national number behind it (at least 8 more digits) are taken as international;
 *   other bare digits are national and get the country code in front.
 * - Without a default country code, numbers that are not international stay as their digits
 *   (no `+`), so they still match themselves but never a number written internationally.
 *
 * The result is `+` and up to 15 digits (E.164's limit), or the bare digits without a country
 * code. Normalising a result again gives the same result.
 */
export function normalisePhone(raw: string, defaultCountryCode = ''): Normalised {
  const trimmed = raw.trim();
  if (trimmed === '') return { ok: false, problem: 'empty' };
  if (WITHHELD.has(trimmed.toLowerCase())) return { ok: false, problem: 'withheld' };
  const compact = trimmed.replace(PHONE_SEPARATORS, '');
  if (!/^\+?[0-9]+$/.test(compact)) return { ok: false, problem: 'bad_characters' };
  if (defaultCountryCode !== '' && !COUNTRY_CODE_PATTERN.test(defaultCountryCode)) throw new RangeError(`bad country code ${JSON.stringify(defaultCountryCode)}`);
  let international: string | undefined;
  let national: string | undefined;
  if (compact.startsWith('+')) international = compact.slice(1);
  else if (compact.startsWith('00')) international = compact.slice(2);
  else if (compact.startsWith('0')) national = compact.slice(1);
  else if (defaultCountryCode !== '' && compact.startsWith(defaultCountryCode) && compact.length >= defaultCountryCode.length + 8) international = compact;
  else national = compact;
  if (international !== undefined) return checked(international, true);
  if (defaultCountryCode === '') return checked(compact, false);
  return checked(defaultCountryCode + (national as string), true);
}

function checked(digits: string, plus: boolean): Normalised {
  if (digits.length < MIN_PHONE_DIGITS || /^0+$/.test(digits)) return { ok: false, problem: 'too_short' };
  if (digits.length > E164_MAX_DIGITS) return { ok: false, problem: 'too_long' };
  return { ok: true, address: plus ? `+${digits}` : digits };
}

/** An email address trimmed and lower-cased; the local part is kept as written otherwise (no dot or plus folding). */
export function normaliseEmail(raw: string): Normalised {
  const v = raw.trim().toLowerCase();
  if (v === '') return { ok: false, problem: 'empty' };
  if (v.length > 254) return { ok: false, problem: 'too_long' };
  const at = v.lastIndexOf('@');
  if (at < 1 || at === v.length - 1 || /\s/.test(v) || v.indexOf('@') !== at) return { ok: false, problem: 'bad_email' };
  const domain = v.slice(at + 1);
  if (!domain.includes('.') || domain.startsWith('.') || domain.endsWith('.') || domain.includes('..')) return { ok: false, problem: 'bad_email' };
  return { ok: true, address: v };
}

/** A webchat visitor id or WeChat OpenID: opaque and case-sensitive, trimmed. */
function normaliseOpaque(raw: string, pattern: RegExp): Normalised {
  const v = raw.trim();
  if (v === '') return { ok: false, problem: 'empty' };
  if (v.length > 128) return { ok: false, problem: 'too_long' };
  if (!pattern.test(v)) return { ok: false, problem: 'bad_characters' };
  return { ok: true, address: v };
}

/** Normalises an address of a channel; equal results are the same identity. */
export function normaliseAddress(channel: IdentityChannel, raw: string, defaultCountryCode = ''): Normalised {
  switch (channel) {
    case 'phone':
    case 'sms':
      return normalisePhone(raw, defaultCountryCode);
    case 'email':
      return normaliseEmail(raw);
    case 'webchat':
      return normaliseOpaque(raw, /^[\x21-\x7e]+$/);
    case 'wechat':
      return normaliseOpaque(raw, /^[A-Za-z0-9_-]+$/);
  }
}

/** The key an identity is unique under within a tenant: `channel:normalised address`. */
export const identityKey = (channel: IdentityChannel, address: string): string => `${channel}:${address}`;

const PROBLEM_TEXT: Record<AddressProblem, string> = {
  empty: 'is empty',
  withheld: 'is a withheld number (anonymous caller ID), which identifies nobody',
  bad_characters: 'has characters that do not belong in this kind of address',
  too_short: 'is too short to be a number',
  too_long: 'is too long (a phone number has at most 15 digits, an email at most 254 characters, other ids 128)',
  bad_email: 'is not an email address (name@domain.tld)',
};

/** The error for an address that cannot be an identity, naming the request field. */
export function addressError(field: string, channel: IdentityChannel, problem: AddressProblem): AppError {
  return new AppError('invalid', 'customer.address_invalid', `${field} ${PROBLEM_TEXT[problem]} (channel ${channel}).`, { details: { field, channel, problem } });
}

/** Hides most of an address for logs and the audit trail: `+34600111222` → `+346•••••222`. */
export function maskAddress(address: string): string {
  if (address.length <= 6) return '•'.repeat(address.length);
  const at = address.indexOf('@');
  if (at > 0) return `${address.slice(0, 1)}•••@${address.slice(at + 1)}`;
  return `${address.slice(0, 4)}${'•'.repeat(address.length - 7)}${address.slice(-3)}`;
}

/**
 * A display name for a new customer from what the channel says (caller ID name, chat nickname):
 * trimmed and squeezed, at most 200 characters; nothing when it is empty, withheld, or just the
 * number again (caller ID often repeats the number as the name).
 */
export function displayNameHint(name: string | undefined, rawAddress: string): string | null {
  const v = (name ?? '').replace(/\s+/g, ' ').trim();
  if (v === '' || WITHHELD.has(v.toLowerCase())) return null;
  if (/^[+0-9\s\-.()]+$/.test(v) || v === rawAddress.trim()) return null;
  return v.slice(0, 200);
}

// ——— Resolution ———

/** An identity that arrives with an interaction: a call from a number, a chat visitor, an email sender. */
export interface IdentityClaim {
  channel: IdentityChannel;
  /** Normalised. */
  address: string;
  /** Proven by the channel (a confirmed email, a logged-in webchat user); caller ID never is. */
  verified: boolean;
}

/** A stored identity with the same address in one of the claim's {@link sameAddressChannels}. */
export interface IdentityMatch {
  identityId: string;
  channel: IdentityChannel;
  customerId: string;
  verified: boolean;
}

export type SuggestionReason = 'shared_address' | 'verified_identity_conflict';

/** Two customers that may be one person; a person decides. */
export interface MergeSuggestionPlan {
  customerId: string;
  otherId: string;
  reason: SuggestionReason;
}

export type ResolvePlan =
  | { kind: 'create' }
  | {
      kind: 'existing';
      customerId: string;
      /** The stored identity of the claim's own channel, to mark as seen now (absent: attach one). */
      touchIdentityId?: string;
      /** The claim is verified and the stored identity was not: mark it verified. */
      verify: boolean;
      /** Other customers holding the same address: suggested, never merged. */
      suggestions: MergeSuggestionPlan[];
    };

const byCustomerId = (a: string, b: string): number => (a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0);

/**
 * Which customer an identity claim resolves to. With no stored identity the claim makes a new
 * customer. With matches on one customer it resolves there (attaching the claim's channel if
 * only a sibling channel matched: a call from a number known by SMS). When the same address is
 * held by several customers (a phone identity on one, an SMS identity on another) the claim goes
 * to the customer of its own channel, else to one holding the address verified, else to the
 * oldest (lowest id); each other one becomes a merge suggestion — an unverified identity never
 * merges two customers.
 */
export function planResolve(claim: IdentityClaim, matches: readonly IdentityMatch[]): ResolvePlan {
  if (matches.length === 0) return { kind: 'create' };
  const customers = [...new Set(matches.map((m) => m.customerId))].sort(byCustomerId);
  const exact = matches.find((m) => m.channel === claim.channel);
  const verifiedOwners = [...new Set(matches.filter((m) => m.verified).map((m) => m.customerId))];
  const chosen = exact?.customerId ?? (verifiedOwners.length === 1 ? (verifiedOwners[0] as string) : (customers[0] as string));
  // The claim's own channel is unique per address, so when it matched, its customer is the one chosen.
  return {
    kind: 'existing',
    customerId: chosen,
    ...(exact ? { touchIdentityId: exact.identityId } : {}),
    verify: claim.verified && exact !== undefined && !exact.verified,
    suggestions: customers.filter((c) => c !== chosen).map((otherId) => ({ customerId: chosen, otherId, reason: 'shared_address' as const })),
  };
}

/** What adding an identity to a customer does, given who holds that address in that channel now. */
export type AddIdentityPlan =
  | { kind: 'insert' }
  | { kind: 'unchanged'; identityId: string }
  | { kind: 'verify'; identityId: string }
  | { kind: 'conflict'; otherCustomerId: string; suggest: boolean };

/**
 * Adding an identity to a customer by hand (or by an integration): new addresses are inserted;
 * one the customer already has is kept, and becomes verified if the new claim is; one another
 * customer holds is a conflict — and when the claim is verified (someone proved the address is
 * this customer's) the two customers become a merge suggestion as well.
 */
export function planAddIdentity(customerId: string, verified: boolean, holder: { identityId: string; customerId: string; verified: boolean } | undefined): AddIdentityPlan {
  if (!holder) return { kind: 'insert' };
  if (holder.customerId === customerId) return verified && !holder.verified ? { kind: 'verify', identityId: holder.identityId } : { kind: 'unchanged', identityId: holder.identityId };
  return { kind: 'conflict', otherCustomerId: holder.customerId, suggest: verified };
}

/** The two customers of a suggestion in a stable order, so a pair is stored once whichever way round it came. */
export function suggestionPair(a: string, b: string): [string, string] {
  return byCustomerId(a, b) <= 0 ? [a, b] : [b, a];
}

// ——— Merges ———

/** A customer as merges see it. */
export interface CustomerState {
  id: string;
  /** Set once the customer has been merged into another (the survivor). */
  mergedInto: string | null;
}

export const customerMergedError = (id: string, mergedInto: string, field?: string): AppError =>
  new AppError('conflict', 'customer_merged', `Customer ${id} has been merged into customer ${mergedInto}; use that one.`, { details: { id, mergedInto, ...(field ? { field } : {}) } });

/**
 * Whether `mergedId` may be merged into `survivorId`: two different customers, neither merged
 * already (merging into a merged customer would hide a chain; merge into its survivor instead).
 */
export function checkMerge(survivor: CustomerState, merged: CustomerState): AppError | undefined {
  if (survivor.id === merged.id) {
    return new AppError('invalid', 'customer.merge_into_self', 'otherId names the customer itself; a customer cannot be merged into itself.', { details: { field: 'body.otherId' } });
  }
  if (survivor.mergedInto !== null) return customerMergedError(survivor.id, survivor.mergedInto);
  if (merged.mergedInto !== null) return customerMergedError(merged.id, merged.mergedInto, 'body.otherId');
  return undefined;
}

/** A logged merge as undo sees it. */
export interface MergeState {
  id: string;
  survivorId: string;
  mergedId: string;
  undone: boolean;
}

/**
 * Whether a merge may be undone now: once only, and only while its survivor is still a customer
 * of its own. If the survivor has since been merged into another customer, the later merge holds
 * the rows that came from this one: undo that one first (its id is in `details`).
 */
export function checkUndo(merge: MergeState, survivor: CustomerState, merged: CustomerState, laterMergeId?: string): AppError | undefined {
  if (merge.undone) return new AppError('conflict', 'merge_already_undone', `Merge ${merge.id} has already been undone.`, { details: { mergeId: merge.id } });
  if (survivor.mergedInto !== null) {
    return new AppError('conflict', 'merge_superseded', `Customer ${survivor.id} has since been merged into customer ${survivor.mergedInto}; undo that merge first.`, {
      details: { mergeId: merge.id, survivorMergedInto: survivor.mergedInto, ...(laterMergeId ? { undoFirst: laterMergeId } : {}) },
    });
  }
  if (merged.mergedInto !== merge.survivorId) {
    return new AppError('conflict', 'merge_state_changed', `Customer ${merged.id} is no longer merged into customer ${merge.survivorId}.`, { details: { mergeId: merge.id } });
  }
  return undefined;
}

// ——— Thread paging ———

/** A position in a thread: the start time of an interaction and its id (ties broken by id). */
export interface ThreadCursor {
  at: number;
  interactionId: string;
}

/** `before` as a client sends it back: `<epoch ms>:<interaction id>` (the `next` of the previous page). */
export function encodeThreadCursor(c: ThreadCursor): string {
  return `${c.at}:${c.interactionId}`;
}

/**
 * Reads `before`: a cursor from a previous page, or an ISO 8601 instant (everything that
 * started strictly before it). Undefined when it is neither.
 */
export function parseThreadCursor(before: string, parseInstant: (s: string) => number | undefined): ThreadCursor | undefined {
  const m = /^([0-9]{1,15}):(.{1,64})$/s.exec(before);
  if (m) return { at: Number(m[1]), interactionId: m[2] as string };
  const at = parseInstant(before);
  // '' sorts before every id: the instant itself is excluded.
  return at === undefined ? undefined : { at, interactionId: '' };
}
