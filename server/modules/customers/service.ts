import { isChannel, type Channel } from '../../domain/channel.js';
import {
  addressError, checkMerge, checkUndo, customerMergedError, displayNameHint, encodeThreadCursor, maskAddress, normaliseAddress, parseThreadCursor, planAddIdentity, planResolve,
  sameAddressChannels, suggestionPair, type IdentityChannel, type SuggestionReason, type ThreadCursor,
} from '../../domain/customer.js';
import type { AuditLog } from '../../infra/audit.js';
import type { Clock } from '../../infra/clock.js';
import type { EventBus } from '../../infra/events.js';
import type { Log } from '../../infra/logger.js';
import { customerErrors } from './errors.js';
import { IdentityTakenRace, type CustomerRecord, type CustomerStore, type IdentityRecord, type MergeRecord, type SuggestionRecord, type ThreadEntry } from './store.js';
import './events.js';

/**
 * Where a customer's interactions are read from, newest first (by start, ties by id), strictly
 * before `before` when given, at most `limit`. A port: the app wires it (today a join over our
 * link table and the voice module's interactions table).
 */
export interface ThreadSource {
  interactionsOf(tenantId: number, customerIds: readonly string[], before: ThreadCursor | undefined, limit: number): Promise<ThreadEntry[]>;
}

export interface CustomerDeps {
  store: CustomerStore;
  threadSource: ThreadSource;
  audit: AuditLog;
  events: EventBus;
  clock: Clock;
  log: Log;
  tenantId: number;
  /** Country calling code for national phone numbers (IPCC_CUSTOMER_DEFAULT_COUNTRY_CODE); '' for none. */
  defaultCountryCode: string;
}

/** An identity as callers see it (the customer it belongs to is the record it is in). */
export type IdentityView = Omit<IdentityRecord, 'customerId'>;

/**
 * A customer with its identities and the size of its thread. `mergedInto` is set when it was
 * merged into another: its identities and thread are that one's now.
 */
export type CustomerView = Omit<CustomerRecord, 'identities'> & { identities: IdentityView[] };

/**
 * What {@link CustomerService.resolve} returns: enough for an agent's screen-pop. Its
 * `interactionsCount` counts interactions linked so far (the one arriving now is not counted
 * until it is linked).
 */
export interface ResolvedCustomer extends Pick<CustomerView, 'displayName' | 'identities' | 'interactionsCount' | 'lastInteractionAt'> {
  /** Also the customer's thread id: GET /v1/customers/{customerId}/thread. */
  customerId: string;
  /** True when this contact made the customer. */
  created: boolean;
}

export interface ThreadItem {
  interactionId: string;
  channel: string;
  startedAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  /** The queue it ended in (or the first, if it never left it). */
  queueId: string | null;
  firstQueueId: string | null;
  /** The last agent who handled it. */
  agentId: string | null;
  outcome: string | null;
  queueMs: number | null;
  talkMs: number | null;
  holdMs: number | null;
  transfers: number | null;
}

export interface MergeView {
  id: string;
  survivorId: string;
  mergedId: string;
  reason: string;
  by: string;
  mergedAt: string;
  undoneAt: string | null;
  undoneBy: string | null;
  undoReason: string | null;
  movedIdentities: number;
  movedInteractions: number;
}

export interface SuggestionView {
  id: string;
  customerId: string;
  otherId: string;
  reason: SuggestionReason;
  channel: IdentityChannel;
  address: string;
  seen: number;
  createdAt: string;
  lastSeenAt: string;
}

/** Who does a write, for the audit trail. */
export interface Actor {
  name: string;
  requestId?: string;
}

const RESOLVE_ATTEMPTS = 4;
const DEFAULT_THREAD_LIMIT = 20;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const parseInstant = (s: string): number | undefined => {
  if (!ISO_INSTANT.test(s)) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
};

const identityView = (i: IdentityRecord): IdentityView => ({
  id: i.id, channel: i.channel, address: i.address, verified: i.verified, verifiedAt: i.verifiedAt, firstSeenAt: i.firstSeenAt, lastSeenAt: i.lastSeenAt,
});
const customerView = (c: CustomerRecord): CustomerView => ({
  id: c.id, displayName: c.displayName, createdAt: c.createdAt, updatedAt: c.updatedAt, mergedInto: c.mergedInto,
  identities: c.identities.map(identityView), interactionsCount: c.interactionsCount, lastInteractionAt: c.lastInteractionAt,
});
const mergeView = (m: MergeRecord): MergeView => ({
  id: m.id, survivorId: m.survivorId, mergedId: m.mergedId, reason: m.reason, by: m.actor, mergedAt: m.mergedAt,
  undoneAt: m.undoneAt, undoneBy: m.undoneBy, undoReason: m.undoReason, movedIdentities: m.movedIdentities, movedInteractions: m.movedInteractions,
});
const suggestionView = (s: SuggestionRecord, customerId: string): SuggestionView => ({
  id: s.id, customerId, otherId: s.customerIds[0] === customerId ? s.customerIds[1] : s.customerIds[0], reason: s.reason, channel: s.channel, address: s.address,
  seen: s.seen, createdAt: s.createdAt, lastSeenAt: s.lastSeenAt,
});
const threadItem = (e: ThreadEntry): ThreadItem => ({
  interactionId: e.interactionId, channel: e.channel, startedAt: new Date(e.startedAt).toISOString(), answeredAt: e.answeredAt, endedAt: e.endedAt,
  queueId: e.lastQueueId ?? e.firstQueueId, firstQueueId: e.firstQueueId, agentId: e.agentId, outcome: e.outcome,
  queueMs: e.queueMs, talkMs: e.talkMs, holdMs: e.holdMs, transfers: e.transfers,
});
const later = (a: string, at: number): string => (Date.parse(a) >= at ? a : new Date(at).toISOString());

/**
 * Customers and their thread. Channels call {@link resolve} when a contact arrives (one lookup
 * by the normalised address, which also reads the customer's record) and {@link linkInteraction}
 * once the interaction exists; people read customers and threads, add identities, and merge
 * customers (logged, audited, undoable). Resolution never merges: when an address points at two
 * customers it records a merge suggestion for a person to decide.
 */
export function createCustomerService(deps: CustomerDeps) {
  const { store, tenantId } = deps;
  const log = deps.log.child({ module: 'customers' });
  const now = (): number => deps.clock.now();

  async function existing(customerId: string, field?: string): Promise<CustomerRecord> {
    const c = await store.get(tenantId, customerId);
    if (!c) throw customerErrors.notFound(customerId, field);
    return c;
  }

  async function writable(customerId: string): Promise<CustomerRecord> {
    const c = await existing(customerId);
    if (c.mergedInto !== null) throw customerMergedError(customerId, c.mergedInto);
    return c;
  }

  async function suggest(customerId: string, otherId: string, reason: SuggestionReason, channel: IdentityChannel, address: string, at: number): Promise<string> {
    const s = await store.suggest(tenantId, { pair: suggestionPair(customerId, otherId), reason, channel, address, at });
    if (s.created) {
      log.info({ suggestionId: s.id, customerId, otherId, reason, channel }, 'customers suggested for a merge');
      deps.events.publish('customer.merge_suggested', { tenantId, suggestionId: s.id, customerId, otherId, reason });
    }
    return s.id;
  }

  return {
    /**
     * Finds the customer of an identity, or makes one: `address` is normalised first (phone
     * numbers to +E.164-like digits), a phone number also finds its SMS identity and vice versa.
     * Returns null when the address identifies nobody (empty, withheld, not a number). A new
     * address makes a customer and its identity in one transaction; concurrent first contacts
     * from one address meet on the identity's unique key and the loser finds the winner's
     * customer. An unverified identity never merges customers: two customers holding one address
     * become a merge suggestion. Typically one query and one update.
     */
    async resolve(input: { channel: IdentityChannel; address: string; verified?: boolean; at: number; displayName?: string }): Promise<ResolvedCustomer | null> {
      const norm = normaliseAddress(input.channel, input.address, deps.defaultCountryCode);
      if (!norm.ok) {
        log.debug({ channel: input.channel, problem: norm.problem }, 'contact without a usable address: no customer');
        return null;
      }
      const claim = { channel: input.channel, address: norm.address, verified: input.verified === true };
      for (let attempt = 0; attempt < RESOLVE_ATTEMPTS; attempt++) {
        const matches = await store.matchesOf(tenantId, sameAddressChannels(claim.channel), claim.address);
        const plan = planResolve(claim, matches.map((m) => ({ identityId: m.identityId, channel: m.channel, customerId: m.customer.id, verified: m.verified })));
        if (plan.kind === 'create') {
          const displayName = displayNameHint(input.displayName, input.address);
          let made: { customerId: string; identityId: string };
          try {
            made = await store.createWithIdentity(tenantId, { displayName, ...claim, at: input.at });
          } catch (e) {
            if (e instanceof IdentityTakenRace) continue;
            throw e;
          }
          const at = new Date(input.at).toISOString();
          log.info({ customerId: made.customerId, channel: claim.channel }, 'customer created by a first contact');
          deps.events.publish('customer.created', { tenantId, customerId: made.customerId, channel: claim.channel });
          return {
            customerId: made.customerId, created: true, displayName,
            identities: [{ id: made.identityId, channel: claim.channel, address: claim.address, verified: claim.verified, verifiedAt: claim.verified ? at : null, firstSeenAt: at, lastSeenAt: at }],
            interactionsCount: 0, lastInteractionAt: null,
          };
        }
        const record = (matches.find((m) => m.customer.id === plan.customerId) as (typeof matches)[number]).customer;
        let identities = record.identities.map(identityView);
        if (plan.touchIdentityId !== undefined) {
          await store.touchIdentity(tenantId, plan.touchIdentityId, input.at, plan.verify);
          identities = identities.map((i) =>
            i.id === plan.touchIdentityId
              ? { ...i, lastSeenAt: later(i.lastSeenAt, input.at), ...(plan.verify ? { verified: true, verifiedAt: new Date(input.at).toISOString() } : {}) }
              : i,
          );
        } else {
          // Known by a sibling channel only (an SMS number now calling): the claim's channel joins it.
          let attached: { customerId: string; identityId: string } | undefined;
          try {
            attached = await store.attachIdentity(tenantId, plan.customerId, { ...claim, at: input.at });
          } catch (e) {
            if (e instanceof IdentityTakenRace) continue;
            throw e;
          }
          // Merged or removed between the lookup and the write: look again for a coherent record.
          if (attached?.customerId !== plan.customerId) continue;
          const at = new Date(input.at).toISOString();
          identities = [...identities, { id: attached.identityId, channel: claim.channel, address: claim.address, verified: claim.verified, verifiedAt: claim.verified ? at : null, firstSeenAt: at, lastSeenAt: at }];
          deps.events.publish('customer.identity_added', { tenantId, customerId: plan.customerId, identityId: attached.identityId, channel: claim.channel, verified: claim.verified });
        }
        for (const s of plan.suggestions) await suggest(s.customerId, s.otherId, s.reason, claim.channel, claim.address, input.at);
        return { customerId: record.id, created: false, displayName: record.displayName, identities, interactionsCount: record.interactionsCount, lastInteractionAt: record.lastInteractionAt };
      }
      throw customerErrors.contended();
    },

    /**
     * Puts an interaction into a customer's thread (the survivor's, if the customer was merged
     * meanwhile). `at` is when the interaction started: the thread's order. Idempotent; linking
     * an interaction that is already another customer's is refused (409
     * interaction_linked_elsewhere). Returns the customer it is linked to.
     */
    async linkInteraction(customerId: string, interactionId: string, channel: Channel, at: number): Promise<{ customerId: string; linked: boolean }> {
      if (!isChannel(channel)) throw customerErrors.badChannel(String(channel));
      const res = await store.link(tenantId, { customerId, interactionId, channel, startedAt: at, at: now() });
      if (!res) throw customerErrors.notFound(customerId);
      if (!res.linked && res.customerId !== res.liveId) throw customerErrors.interactionLinkedElsewhere(interactionId, res.customerId);
      return { customerId: res.customerId, linked: res.linked };
    },

    async get(customerId: string): Promise<CustomerView> {
      return customerView(await existing(customerId));
    },

    /** Customers holding an address, found exactly (normalised); a phone number finds SMS identities too. */
    async lookup(q: { phone?: string; email?: string }): Promise<{ items: CustomerView[] }> {
      if ((q.phone === undefined) === (q.email === undefined)) throw customerErrors.lookupNeedsOne();
      const [channel, raw, field] = q.phone !== undefined ? (['phone', q.phone, 'query.phone'] as const) : (['email', q.email as string, 'query.email'] as const);
      const norm = normaliseAddress(channel, raw, deps.defaultCountryCode);
      if (!norm.ok) throw addressError(field, channel, norm.problem);
      const matches = await store.matchesOf(tenantId, sameAddressChannels(channel), norm.address);
      const seen = new Set<string>();
      const items: CustomerView[] = [];
      for (const m of matches) {
        if (seen.has(m.customer.id)) continue;
        seen.add(m.customer.id);
        items.push(customerView(m.customer));
      }
      return { items };
    },

    async rename(customerId: string, displayName: string | null, actor: Actor): Promise<CustomerView> {
      const before = await writable(customerId);
      const name = displayName === null ? null : displayName.replace(/\s+/g, ' ').trim() || null;
      await store.rename(tenantId, customerId, name, now());
      await deps.audit({ tenantId, actor: actor.name, action: 'customer.update', target: customerId, ...(actor.requestId ? { requestId: actor.requestId } : {}), details: { displayNameChanged: before.displayName !== name } });
      return customerView(await existing(customerId));
    },

    /**
     * Adds an identity to a customer by hand or from an integration (e.g. a verified email). An
     * address the customer has already is kept (and verified if this claim is); one another
     * customer holds is refused with 409 identity_taken naming that customer — and a verified
     * claim also records the pair as a merge suggestion (its id in the error).
     */
    async addIdentity(customerId: string, body: { channel: IdentityChannel; address: string; verified?: boolean }, actor: Actor): Promise<{ created: boolean; identity: IdentityView; customer: CustomerView }> {
      const norm = normaliseAddress(body.channel, body.address, deps.defaultCountryCode);
      if (!norm.ok) throw addressError('body.address', body.channel, norm.problem);
      const verified = body.verified === true;
      await writable(customerId);
      const at = now();
      const audit = (action: string, identityId: string) =>
        deps.audit({
          tenantId, actor: actor.name, action, target: customerId, ...(actor.requestId ? { requestId: actor.requestId } : {}),
          details: { identityId, channel: body.channel, address: maskAddress(norm.address), verified },
        });
      for (let attempt = 0; attempt < RESOLVE_ATTEMPTS; attempt++) {
        const holder = await store.holderOf(tenantId, body.channel, norm.address);
        const plan = planAddIdentity(customerId, verified, holder);
        let created = false;
        let identityId: string;
        if (plan.kind === 'conflict') {
          const suggestionId = plan.suggest ? await suggest(customerId, plan.otherCustomerId, 'verified_identity_conflict', body.channel, norm.address, at) : undefined;
          await deps.audit({
            tenantId, actor: actor.name, action: 'customer.identity_add', target: customerId, outcome: 'denied', ...(actor.requestId ? { requestId: actor.requestId } : {}),
            details: { channel: body.channel, address: maskAddress(norm.address), verified, heldBy: plan.otherCustomerId, ...(suggestionId ? { suggestionId } : {}) },
          });
          throw customerErrors.identityTaken(body.channel, plan.otherCustomerId, suggestionId);
        }
        if (plan.kind === 'insert') {
          let attached: { customerId: string; identityId: string } | undefined;
          try {
            attached = await store.attachIdentity(tenantId, customerId, { channel: body.channel, address: norm.address, verified, at });
          } catch (e) {
            if (e instanceof IdentityTakenRace) continue;
            throw e;
          }
          if (!attached) throw customerErrors.notFound(customerId);
          identityId = attached.identityId;
          created = true;
          await audit('customer.identity_add', identityId);
          deps.events.publish('customer.identity_added', { tenantId, customerId: attached.customerId, identityId, channel: body.channel, verified });
        } else {
          identityId = plan.identityId;
          if (plan.kind === 'verify') {
            await store.verifyIdentity(tenantId, identityId, at);
            await audit('customer.identity_verify', identityId);
          }
        }
        const customer = customerView(await existing(customerId));
        const identity = customer.identities.find((i) => i.id === identityId);
        if (!identity) continue; // moved by a merge that committed in between: look again
        return { created, identity, customer };
      }
      throw customerErrors.contended();
    },

    /**
     * The customer's thread: their interactions newest first. A merged customer's thread is its
     * survivor's (`customerId` in the reply says whose). `before` is the previous page's `next`
     * or an ISO instant.
     */
    async thread(customerId: string, q: { before?: string; limit?: number }): Promise<{ customerId: string; items: ThreadItem[]; next: string | null }> {
      let cursor: ThreadCursor | undefined;
      if (q.before !== undefined) {
        cursor = parseThreadCursor(q.before, parseInstant);
        if (!cursor) throw customerErrors.badBefore();
      }
      const live = await store.liveId(tenantId, customerId);
      if (!live) throw customerErrors.notFound(customerId);
      const limit = q.limit ?? DEFAULT_THREAD_LIMIT;
      const rows = await deps.threadSource.interactionsOf(tenantId, [live], cursor, limit + 1);
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return { customerId: live, items: page.map(threadItem), next: rows.length > limit && last ? encodeThreadCursor({ at: last.startedAt, interactionId: last.interactionId }) : null };
    },

    /** Merges `otherId` into `customerId` (the survivor): logged with who and why, audited, undoable. */
    async merge(customerId: string, otherId: string, reason: string, actor: Actor): Promise<MergeView> {
      const res = await store.merge(tenantId, { survivorId: customerId, mergedId: otherId, reason, actor: actor.name, requestId: actor.requestId, at: now() }, checkMerge);
      if ('missing' in res) throw res.missing === customerId ? customerErrors.notFound(customerId) : customerErrors.notFound(otherId, 'body.otherId');
      const m = res.merge;
      await deps.audit({
        tenantId, actor: actor.name, action: 'customer.merge', target: customerId, ...(actor.requestId ? { requestId: actor.requestId } : {}),
        details: { mergeId: m.id, mergedId: otherId, reason, movedIdentities: m.movedIdentities, movedInteractions: m.movedInteractions },
      });
      log.info({ mergeId: m.id, survivorId: customerId, mergedId: otherId }, 'customers merged');
      deps.events.publish('customer.merged', { tenantId, mergeId: m.id, survivorId: customerId, mergedId: otherId, by: actor.name });
      return mergeView(m);
    },

    /** Undoes a merge: exactly the rows it moved go back; refused once undone or while its survivor is merged on. */
    async undoMerge(mergeId: string, reason: string | undefined, actor: Actor): Promise<MergeView> {
      const m = await store.undo(tenantId, mergeId, { actor: actor.name, reason: reason ?? null, at: now() }, checkUndo);
      if (!m) throw customerErrors.mergeNotFound(mergeId);
      await deps.audit({
        tenantId, actor: actor.name, action: 'customer.merge_undo', target: m.survivorId, ...(actor.requestId ? { requestId: actor.requestId } : {}),
        details: { mergeId, mergedId: m.mergedId, ...(reason ? { reason } : {}) },
      });
      log.info({ mergeId, survivorId: m.survivorId, mergedId: m.mergedId }, 'customer merge undone');
      deps.events.publish('customer.unmerged', { tenantId, mergeId, survivorId: m.survivorId, mergedId: m.mergedId, by: actor.name });
      return mergeView(m);
    },

    async getMerge(mergeId: string): Promise<MergeView> {
      const m = await store.getMerge(tenantId, mergeId);
      if (!m) throw customerErrors.mergeNotFound(mergeId);
      return mergeView(m);
    },

    /** Open merge suggestions involving a customer, most recently seen first. */
    async suggestions(customerId: string): Promise<{ items: SuggestionView[] }> {
      await existing(customerId);
      return { items: (await store.openSuggestionsOf(tenantId, customerId)).map((s) => suggestionView(s, customerId)) };
    },

    /** Closes an open suggestion: a person decided the two are different people. */
    async dismissSuggestion(suggestionId: string, actor: Actor): Promise<void> {
      if (!(await store.dismissSuggestion(tenantId, suggestionId))) throw customerErrors.suggestionNotFound(suggestionId);
      await deps.audit({ tenantId, actor: actor.name, action: 'customer.suggestion_dismiss', target: suggestionId, ...(actor.requestId ? { requestId: actor.requestId } : {}) });
    },
  };
}

export type CustomerService = ReturnType<typeof createCustomerService>;
