/**
 * The default store: process memory, bounded. Right for one process; a fleet needs a shared
 * store (`vonage-messenger/redis`, `/postgres`).
 *
 * @module
 */
import { ValidationError } from '../errors.js';
import type { ConversationKey, PageId } from '../ids.js';
import { checkedStore } from './checked.js';
import { inboundRelinks, unlinkApplies } from './ingest.js';
import { type LeaseRecord, settleLease, takeLease } from './lease.js';
import { BoundedMap, ConversationSlots, FirstInOrder } from './memory-slots.js';
import { checkStoreOptions, isAfter, shown } from './shared.js';
import {
  type ClosedReason,
  DEFAULT_DEDUPE_TTL_MS,
  DEFAULT_STORE_TTL_MS,
  type DeliveryLease,
  type InboundEntry,
  type InboundRange,
  type IngestResult,
  type PageLinkDetails,
  type PageState,
  type RecordInboundResult,
  type SendState,
  type SessionStore,
  type StatusEffect,
  type TagAvailability,
} from './types.js';

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /** Most conversations kept; the least recently written is dropped first. Default 100 000. */
  maxConversations?: number | undefined;
  /**
   * A conversation whose user last wrote longer ago than this is forgotten. Default 8 days:
   * the longest window that still matters (HUMAN_AGENT, 7 days) plus a day.
   */
  ttlMs?: number | undefined;
  /** Most message ids and claims remembered for dedupe/replay. Default 200 000. */
  maxClaims?: number | undefined;
  /** How long a `message_uuid` is remembered as seen. Default 48 h (Vonage retries for 24 h). */
  dedupeTtlMs?: number | undefined;
  /** Clock used for expiry. Default `Date.now`. */
  now?: (() => number) | undefined;
  /**
   * Serve `listByLastInbound` (`messenger.expiringSoon`, the window watcher), as a scan of the
   * conversations: it keeps no index either way. Default true. False leaves the method out, as
   * on the other stores, so an app configured without the index behaves the same in tests.
   */
  windowIndex?: boolean | undefined;
}

export { DEFAULT_DEDUPE_TTL_MS, DEFAULT_STORE_TTL_MS, MAX_INBOUND_RANGE_LIMIT } from './types.js';

/**
 * A NaN bound (`size > NaN` is false) would silently make the store unbounded, the one thing
 * it promises not to be; so would a NaN TTL. Refuse such options up front.
 */
function assertValidOptions(options: MemoryStoreOptions): void {
  const issues: { path: string; message: string }[] = [];
  for (const name of ['maxConversations', 'maxClaims'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
      issues.push({ path: name, message: 'must be a positive integer' });
    }
  }
  // Whole milliseconds, as every other store requires (their TTL commands take integers).
  for (const name of ['ttlMs', 'dedupeTtlMs'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
      issues.push({ path: name, message: `must be a positive integer number of milliseconds, got ${shown(value)}` });
    }
  }
  if (options.windowIndex !== undefined && typeof options.windowIndex !== 'boolean') {
    issues.push({ path: 'windowIndex', message: 'must be true or false' });
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    issues.push({ path: 'now', message: 'must be a function returning epoch milliseconds' });
  }
  if (issues.length > 0) {
    throw new ValidationError(
      `Invalid memoryStore options: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`,
      issues,
    );
  }
}

const MEMORY_OPTIONS: Readonly<Record<keyof MemoryStoreOptions, true>> = {
  maxConversations: true,
  ttlMs: true,
  maxClaims: true,
  dedupeTtlMs: true,
  now: true,
  windowIndex: true,
};

/**
 * A bounded in-memory {@link SessionStore}.
 *
 * @example
 * ```ts
 * const messenger = createMessenger({ applicationId, privateKey, store: memoryStore({ maxConversations: 50_000 }) })
 * ```
 */
export function memoryStore(options: MemoryStoreOptions = {}): SessionStore {
  checkStoreOptions(options, 'memoryStore', MEMORY_OPTIONS, 'memoryStore({ maxConversations: 100_000 })');
  assertValidOptions(options);
  const ttlMs = options.ttlMs ?? DEFAULT_STORE_TTL_MS;
  const dedupeTtlMs = options.dedupeTtlMs ?? DEFAULT_DEDUPE_TTL_MS;
  const now = options.now ?? Date.now;
  const conversations = new BoundedMap<number>(options.maxConversations ?? 100_000, (key, slot) => {
    release(key, slot, now());
  });
  const maxClaims = options.maxClaims ?? 200_000;
  const claims = new BoundedMap<number>(maxClaims);
  const pages = new Map<string, PageState>();
  // Delivery records, kept as long as message ids (`expires`), in the same maxClaims bound.
  const deliveries = new BoundedMap<LeaseRecord & { expires: number }>(maxClaims);
  const liveDelivery = (id: string, t: number) => {
    const record = deliveries.get(id);
    return record !== undefined && record.expires > t ? record : undefined;
  };

  // How a conversation is packed into a slot: memory-slots.ts. The latest message id of a
  // conversation is remembered in its slot; every other id is a claims entry. Both count in
  // the maxClaims bound: an id counts as seen while fewer than maxClaims ids were remembered
  // after it (claimSeq numbers them).
  const slots = new ConversationSlots();
  let claimSeq = 0;
  const tagAvailability = new Map<string, Map<string, TagAvailability>>();

  /** The latest id of a conversation is still seen (within its dedupe time and the bound). */
  const stillSeen = (slot: number, t: number): boolean =>
    slots.seenUntil(slot) > t && claimSeq - slots.seenSeq(slot) < maxClaims;

  /** Moves a conversation's latest id, if still seen, into the claims map. */
  const retire = (key: string, slot: number, t: number): void => {
    if (!stillSeen(slot, t)) return;
    const id = `msg:${key}:${slots.latestUuid(slot)}`;
    id.charCodeAt(0); // flattened, as conversation keys are: the map keeps one flat string
    claims.touch(id, slots.seenUntil(slot));
  };

  /**
   * Frees a dropped conversation's slot. Its latest message id moves to the claims map while
   * it still counts as seen, so a retry after the conversation was dropped for room (or
   * expired) is still a duplicate, as when every id lived in the claims map.
   */
  const release = (key: string, slot: number, t: number): void => {
    retire(key, slot, t);
    slots.release(slot);
  };

  /** Remembers an id in the claims map: one more id in the maxClaims bound. */
  const remember = (id: string, until: number, present: boolean): void => {
    claimSeq += 1;
    if (present) claims.touch(id, until);
    else claims.add(id, until);
  };

  /** Records the latest id of a conversation in its slot: one more id in the maxClaims bound. */
  const setLatest = (slot: number, at: number, uuid: string, t: number): void => {
    claimSeq += 1;
    slots.setLatest(slot, at, uuid, t + dedupeTtlMs, claimSeq);
  };

  /** The conversation's slot, unless it expired (then it is dropped). */
  const live = (key: string, t: number): number | undefined => {
    const slot = conversations.get(key);
    if (slot !== undefined && slots.lastInboundAt(slot) + ttlMs <= t) {
      conversations.delete(key);
      release(key, slot, t);
      return undefined;
    }
    return slot;
  };

  const claimOnce = (id: string, ttl: number): boolean => {
    const t = now();
    const until = claims.get(id);
    if (until !== undefined && until > t) return false;
    remember(id, t + ttl, until !== undefined);
    return true;
  };

  /** `recordInbound`, synchronously: the operation and `ingest` share it. */
  const recordInboundNow = (key: string, at: number, messageUuid: string): RecordInboundResult => {
    const t = now();
    const slot = live(key, t);
    if (slot !== undefined && slots.latestUuid(slot) === messageUuid && stillSeen(slot, t)) {
      return { state: slots.state(slot), duplicate: true };
    }
    const id = `msg:${key}:${messageUuid}`;
    // Whether an (expired) entry for this id is still in the claims map.
    let present = false;
    if (claims.size > 0) {
      const until = claims.get(id);
      present = until !== undefined;
      if (until !== undefined && until > t) {
        return {
          state: slot === undefined ? { lastInboundAt: at, lastInboundUuid: messageUuid } : slots.state(slot),
          duplicate: true,
        };
      }
    }
    if (slot === undefined) {
      if (at + ttlMs > t) {
        const fresh = slots.allocate();
        setLatest(fresh, at, messageUuid, t);
        // A key built by concatenation (conversationKey) is a tree of string pieces; reading a
        // character flattens it in place, and the collector then keeps only the flat string
        // (about 17 bytes less per conversation kept).
        key.charCodeAt(0);
        // live() found no conversation under this key (or just deleted an expired one).
        conversations.add(key, fresh);
      } else {
        // Not kept as a conversation (already expired), but its id still counts as seen.
        remember(id, t + dedupeTtlMs, present);
      }
      return { state: { lastInboundAt: at, lastInboundUuid: messageUuid }, duplicate: false };
    }
    if (at > slots.lastInboundAt(slot)) {
      // The message id it replaces stays seen, now in the claims map.
      retire(key, slot, t);
      setLatest(slot, at, messageUuid, t);
    } else {
      remember(id, t + dedupeTtlMs, present);
    }
    conversations.touch(key, slot);
    return { state: slots.state(slot), duplicate: false };
  };

  const markClosedNow = (key: string, at: number, reason: ClosedReason): void => {
    const slot = live(key, now());
    if (slot !== undefined && slots.markClosed(slot, at, reason)) conversations.touch(key, slot);
  };

  const getPageNow = (pageId: string): PageState | null => {
    const state = pages.get(pageId);
    if (state === undefined) return null;
    const copy: PageState = { linked: state.linked, changedAt: state.changedAt };
    if (state.errorCode !== undefined) copy.errorCode = state.errorCode;
    if (state.errorDetail !== undefined) copy.errorDetail = state.errorDetail;
    return copy;
  };

  const setPageLinkedNow = (pageId: string, linked: boolean, at: number, details?: PageLinkDetails): void => {
    const current = pages.get(pageId);
    if (current !== undefined && at < current.changedAt) return;
    const next: PageState = { linked, changedAt: at };
    if (!linked && details?.errorCode !== undefined) next.errorCode = details.errorCode;
    if (!linked && details?.errorDetail !== undefined) next.errorDetail = details.errorDetail;
    pages.set(pageId, next);
  };

  const leaseNow = (id: string, ttl: number, t: number): DeliveryLease => {
    const { lease, record } = takeLease(liveDelivery(id, t), ttl, t);
    if (record !== undefined) deliveries.touch(id, { ...record, expires: t + Math.max(ttl, dedupeTtlMs) });
    return lease;
  };

  /** One status effect, as `ingestStatusEffect` applies it through the single operations. */
  const applyEffect = (key: string, pageId: string, at: number, effect: StatusEffect): boolean => {
    if (effect.kind === 'close') {
      markClosedNow(key, at, effect.reason);
      return true;
    }
    // The stored state itself, not a copy: only `linked` is read.
    if (!unlinkApplies(effect, pages.get(pageId) ?? null)) return false;
    setPageLinkedNow(pageId, false, at, effect.details);
    return true;
  };

  const store: SessionStore = {
    async get(key) {
      const slot = live(key, now());
      return slot === undefined ? null : slots.state(slot);
    },

    async recordInbound(key, at, messageUuid): Promise<RecordInboundResult> {
      return recordInboundNow(key, at, messageUuid);
    },

    // One webhook's writes in one synchronous step, in the order of IngestInput: the composed
    // path (ingestWith) costs a promise and a store-channel event per operation.
    async ingest({ now: t, replay, message, status, lease }): Promise<IngestResult> {
      if (!claimOnce(`claim:${replay.id}`, replay.ttlMs)) return { replayed: true, duplicate: false, applied: false };
      const result: IngestResult = { replayed: false, duplicate: false, applied: false };
      if (message !== undefined) {
        const recorded = recordInboundNow(message.key, message.at, message.messageUuid);
        if (inboundRelinks(pages.get(message.pageId) ?? null)) setPageLinkedNow(message.pageId, true, message.at);
        result.duplicate = recorded.duplicate;
        result.state = recorded.state;
      }
      if (status !== undefined) {
        if (status.effect !== undefined) {
          result.applied = applyEffect(status.key, status.pageId, status.at, status.effect);
        }
        result.duplicate = !claimOnce(`claim:${status.dedupe.id}`, status.dedupe.ttlMs);
      }
      if (lease !== undefined) result.lease = leaseNow(lease.id, lease.ttlMs, t);
      return result;
    },

    async readForSend(pageId, key): Promise<SendState> {
      const slot = live(key, now());
      return { page: getPageNow(pageId), conversation: slot === undefined ? null : slots.state(slot) };
    },

    async recordOutbound(key, at) {
      const slot = live(key, now());
      if (slot !== undefined && slots.recordOutbound(slot, at)) conversations.touch(key, slot);
    },

    async markClosed(key: ConversationKey, at: number, reason: ClosedReason) {
      markClosedNow(key, at, reason);
    },

    async getPage(pageId: PageId) {
      return getPageNow(pageId);
    },

    async setPageLinked(pageId: PageId, linked: boolean, at: number, details?: PageLinkDetails) {
      setPageLinkedNow(pageId, linked, at, details);
    },

    async claim(id, ttl) {
      return claimOnce(`claim:${id}`, ttl);
    },

    async lease(id, ttl, t) {
      return leaseNow(id, ttl, t);
    },

    async settle(id, attempt, ok, t) {
      const current = liveDelivery(id, t);
      const next = settleLease(current, attempt, ok);
      if (next !== undefined)
        deliveries.touch(id, { ...next, expires: Math.max(current?.expires ?? 0, t + dedupeTtlMs) });
    },

    async recordAdReferral(key, at) {
      const slot = live(key, now());
      if (slot !== undefined) slots.recordAdReferral(slot, at);
    },

    async setTagAvailability(pageId, tag, available, at, details) {
      let tags = tagAvailability.get(pageId);
      const current = tags?.get(tag);
      if (current !== undefined && at < current.changedAt) return;
      const next: TagAvailability = { available, changedAt: at };
      if (!available && details?.errorCode !== undefined) next.errorCode = details.errorCode;
      if (!available && details?.errorDetail !== undefined) next.errorDetail = details.errorDetail;
      if (tags === undefined) {
        tags = new Map();
        tagAvailability.set(pageId, tags);
      }
      tags.set(tag, next);
    },

    async getTagAvailability(pageId) {
      const out: Record<string, TagAvailability> = {};
      for (const [tag, state] of tagAvailability.get(pageId) ?? []) {
        Object.defineProperty(out, tag, { value: { ...state }, enumerable: true, configurable: true, writable: true });
      }
      return out;
    },

    // The reference reading of the contract: a scan of the (bounded) conversations, so the
    // index costs no memory and no write time, and is exact by construction (one thread). A
    // scan of 100 000 conversations takes a few milliseconds; a poll every few seconds is fine.
    async listByLastInbound(range: InboundRange): Promise<InboundEntry[]> {
      const t = now();
      const prefix = range.pageId === undefined ? undefined : `${range.pageId}:`;
      const first = new FirstInOrder<number>(range.limit);
      const expired: [string, number][] = [];
      for (const [key, slot] of conversations) {
        const at = slots.lastInboundAt(slot);
        if (at + ttlMs <= t) {
          expired.push([key, slot]);
          continue;
        }
        if (at <= range.from || at > range.to || !isAfter(at, key, range.after)) continue;
        if (prefix !== undefined && !key.startsWith(prefix)) continue;
        // Closed by the platform since the user's latest message: not open (the listByLastInbound contract, types.ts).
        if ((slots.closedAt(slot) ?? Number.NEGATIVE_INFINITY) >= at) continue;
        first.offer(at, key, slot);
      }
      const found = first
        .result()
        .map(({ key, value }) => ({ key: key as ConversationKey, state: slots.state(value) }));
      // What the scan found expired is dropped now, as live() would on a read.
      for (const [key, slot] of expired) {
        conversations.delete(key);
        release(key, slot, t);
      }
      return found;
    },

    async delete(key) {
      const slot = conversations.get(key);
      if (slot !== undefined) {
        conversations.delete(key);
        slots.release(slot);
      }
      // A deletion request covers the message ids seen in the conversation too. Rare, so a
      // scan of the bounded claims map is fine.
      const prefix = `msg:${key}:`;
      for (const id of claims.keys()) if (id.startsWith(prefix)) claims.delete(id);
    },

    async close() {
      conversations.clear();
      claims.clear();
      deliveries.clear();
      pages.clear();
      slots.clear();
      tagAvailability.clear();
    },
  };
  if (options.windowIndex === false) delete store.listByLastInbound;
  return checkedStore(store);
}
