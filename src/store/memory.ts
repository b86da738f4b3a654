/**
 * The default store: process memory, bounded. Right for one process; a fleet needs a shared
 * store (`vonage-messenger/redis`, `/postgres`).
 *
 * @module
 */
import { ValidationError } from '../errors.js';
import type { ConversationKey, PageId } from '../ids.js';
import { checkedStore } from './checked.js';
import { type LeaseRecord, settleLease, takeLease } from './lease.js';
import { compareInbound, isAfter } from './shared.js';
import {
  type ClosedReason,
  type ConversationState,
  DEFAULT_DEDUPE_TTL_MS,
  DEFAULT_STORE_TTL_MS,
  type InboundEntry,
  type InboundRange,
  type PageLinkDetails,
  type PageState,
  type RecordInboundResult,
  type SessionStore,
  type TagAvailability,
} from './types.js';

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /** Most conversations kept; the least recently written is dropped first. Default 100 000. */
  maxConversations?: number;
  /**
   * A conversation whose user last wrote longer ago than this is forgotten. Default 8 days:
   * the longest window that still matters (HUMAN_AGENT, 7 days) plus a day.
   */
  ttlMs?: number;
  /** Most message ids and claims remembered for dedupe/replay. Default 200 000. */
  maxClaims?: number;
  /** How long a `message_uuid` is remembered as seen. Default 48 h (Vonage retries for 24 h). */
  dedupeTtlMs?: number;
  /** Clock used for expiry. Default `Date.now`. */
  now?: () => number;
}

export { DEFAULT_DEDUPE_TTL_MS, DEFAULT_STORE_TTL_MS, MAX_INBOUND_RANGE_LIMIT } from './types.js';

// Slot arrays grow by chunks of 1024 slots.
const CHUNK_BITS = 10;
const CHUNK_SIZE = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK_SIZE - 1;
// The numbers of one slot, at times[chunk][i * FIELDS + field].
const FIELDS = 4;
const AT = 0;
const SEEN_UNTIL = 1;
const SEEN_SEQ = 2;
const OUT = 3;

/** A Map that remembers insertion order and drops the oldest entry past `max`. */
class BoundedMap<V> extends Map<string, V> {
  constructor(
    private readonly max: number,
    /** Told about each entry dropped for room (not about explicit deletes). */
    private readonly onEvict?: (key: string, value: V) => void,
  ) {
    super();
  }
  /**
   * One live iterator over the keys, reused for every eviction. A Map keeps deleted slots
   * until it rehashes and a fresh `keys()` iterator walks all of them, so a new iterator per
   * eviction made each insert cost O(deleted slots) once the map was full. A live iterator
   * skips entries deleted behind it and visits entries added after it; since everything it
   * passed was evicted, its next key is always the oldest live one.
   */
  private cursor: Iterator<string> | undefined;

  /** Adds a key known to be absent (one hash lookup fewer than `touch`). */
  add(key: string, value: V): void {
    this.set(key, value);
    if (this.size > this.max) this.evictOldest();
  }

  /** Sets and moves the key to the newest position. */
  touch(key: string, value: V): void {
    this.delete(key);
    this.set(key, value);
    if (this.size > this.max) this.evictOldest();
  }

  private evictOldest(): void {
    let next = this.cursor?.next();
    if (next === undefined || next.done === true) {
      this.cursor = this.keys();
      next = this.cursor.next();
    }
    if (next.done !== true) {
      if (this.onEvict !== undefined) this.onEvict(next.value, this.get(next.value) as V);
      this.delete(next.value);
    }
  }

  override clear(): void {
    super.clear();
    this.cursor = undefined;
  }
}

/**
 * The first `limit` entries of a scan in `(at, key)` order, without sorting the whole scan:
 * candidates collect until twice the limit, then are sorted and cut back to the limit; past
 * the cut, anything not before the current last entry is dropped on arrival. O(n log limit).
 */
class FirstInOrder<T> {
  private entries: { at: number; key: string; value: T }[] = [];
  private last: { at: number; key: string } | undefined;
  constructor(private readonly limit: number) {}

  offer(at: number, key: string, value: T): void {
    if (this.last !== undefined && at > this.last.at) return; // the common case, without building an entry
    const entry = { at, key, value };
    if (this.last !== undefined && compareInbound(entry, this.last) >= 0) return;
    this.entries.push(entry);
    if (this.entries.length >= 2 * this.limit) this.cut();
  }

  result(): readonly { at: number; key: string; value: T }[] {
    this.cut();
    return this.entries;
  }

  private cut(): void {
    this.entries.sort(compareInbound);
    if (this.entries.length >= this.limit) {
      this.entries.length = this.limit;
      this.last = this.entries[this.limit - 1];
    }
  }
}

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
  for (const name of ['ttlMs', 'dedupeTtlMs'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      issues.push({ path: name, message: 'must be a positive number of milliseconds' });
    }
  }
  if (issues.length > 0) {
    throw new ValidationError(
      `Invalid memoryStore options: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`,
      issues,
    );
  }
}

/**
 * A bounded in-memory {@link SessionStore}.
 *
 * @example
 * ```ts
 * const messenger = createMessenger({ applicationId, privateKey, store: memoryStore({ maxConversations: 50_000 }) })
 * ```
 */
export function memoryStore(options: MemoryStoreOptions = {}): SessionStore {
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

  // Conversations live in slots rather than one object each: a slot's numbers sit unboxed,
  // side by side, in a double array (FIELDS per slot, one cache line for two slots), and its
  // message id in a parallel array. An object with epoch-ms fields costs its header plus a
  // 16-byte heap number per timestamp. The Map holds the slot index, a small integer that
  // needs no allocation. Arrays grow in fixed chunks, so growth never over-allocates by more
  // than one chunk. Per slot: AT = lastInboundAt; SEEN_UNTIL = when the latest message id
  // stops counting as seen (the latest id of a conversation is remembered here, beside it,
  // instead of as a separate claims entry: most conversations only ever need that one);
  // SEEN_SEQ = claimSeq when it was recorded (it still takes its turn in the maxClaims bound:
  // it counts as remembered while fewer than maxClaims ids were remembered after it);
  // OUT = lastOutboundAt, NaN before the first send.
  const times: number[][] = [];
  const inboundUuid: string[][] = [];
  let claimSeq = 0;
  const closed = new Map<number, { at: number; reason: ClosedReason }>(); // rare: only platform refusals
  const adReferrals = new Map<number, number>(); // rare: only conversations an app marked as from an ad
  const tagAvailability = new Map<string, Map<string, TagAvailability>>();
  const freeSlots: number[] = [];
  let nextSlot = 0;

  const allocate = (): number => {
    const free = freeSlots.pop();
    if (free !== undefined) return free;
    const slot = nextSlot++;
    if ((slot & CHUNK_MASK) === 0) {
      times.push(new Array<number>(CHUNK_SIZE * FIELDS).fill(Number.NaN));
      inboundUuid.push(new Array<string>(CHUNK_SIZE).fill(''));
    }
    return slot;
  };

  const stateOf = (slot: number): ConversationState => {
    const chunk = slot >>> CHUNK_BITS;
    const i = slot & CHUNK_MASK;
    const state: ConversationState = {
      lastInboundAt: times[chunk]![i * FIELDS + AT]!,
      lastInboundUuid: inboundUuid[chunk]![i]!,
    };
    const out = times[chunk]![i * FIELDS + OUT]!;
    if (!Number.isNaN(out)) state.lastOutboundAt = out;
    if (closed.size > 0) {
      const close = closed.get(slot);
      if (close !== undefined) {
        state.closedAt = close.at;
        state.closedReason = close.reason;
      }
    }
    if (adReferrals.size > 0) {
      const ad = adReferrals.get(slot);
      if (ad !== undefined) state.adReferralAt = ad;
    }
    return state;
  };

  /**
   * Frees a dropped conversation's slot. Its latest message id moves to the claims map while
   * it still counts as seen, so a retry after the conversation was dropped for room (or
   * expired) is still a duplicate, as when every id lived in the claims map.
   */
  const release = (key: string, slot: number, t: number): void => {
    const chunk = slot >>> CHUNK_BITS;
    const i = slot & CHUNK_MASK;
    retire(key, chunk, i, t);
    forget(slot);
  };

  /** The latest id of a conversation is still seen (within its dedupe time and the bound). */
  const stillSeen = (chunk: number, i: number, t: number): boolean =>
    times[chunk]![i * FIELDS + SEEN_UNTIL]! > t && claimSeq - times[chunk]![i * FIELDS + SEEN_SEQ]! < maxClaims;

  /** Moves a conversation's latest id, if still seen, into the claims map. */
  const retire = (key: string, chunk: number, i: number, t: number): void => {
    if (!stillSeen(chunk, i, t)) return;
    const id = `msg:${key}:${inboundUuid[chunk]![i]!}`;
    id.charCodeAt(0); // flattened, as conversation keys are: the map keeps one flat string
    claims.touch(id, times[chunk]![i * FIELDS + SEEN_UNTIL]!);
  };

  /** Remembers an id in the claims map: one more id in the maxClaims bound. */
  const remember = (id: string, until: number, present: boolean): void => {
    claimSeq += 1;
    if (present) claims.touch(id, until);
    else claims.add(id, until);
  };

  /** Records the latest id of a conversation in its slot: one more id in the maxClaims bound. */
  const setLatest = (chunk: number, i: number, at: number, uuid: string, t: number): void => {
    claimSeq += 1;
    times[chunk]![i * FIELDS + AT] = at;
    inboundUuid[chunk]![i] = uuid;
    times[chunk]![i * FIELDS + SEEN_UNTIL] = t + dedupeTtlMs;
    times[chunk]![i * FIELDS + SEEN_SEQ] = claimSeq;
  };

  const forget = (slot: number): void => {
    inboundUuid[slot >>> CHUNK_BITS]![slot & CHUNK_MASK] = '';
    times[slot >>> CHUNK_BITS]![(slot & CHUNK_MASK) * FIELDS + OUT] = Number.NaN;
    if (closed.size > 0) closed.delete(slot);
    if (adReferrals.size > 0) adReferrals.delete(slot);
    freeSlots.push(slot);
  };

  const live = (key: string, t: number): number | undefined => {
    const slot = conversations.get(key);
    if (slot !== undefined && times[slot >>> CHUNK_BITS]![(slot & CHUNK_MASK) * FIELDS + AT]! + ttlMs <= t) {
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

  return checkedStore<SessionStore>({
    async get(key) {
      const slot = live(key, now());
      return slot === undefined ? null : stateOf(slot);
    },

    async recordInbound(key, at, messageUuid): Promise<RecordInboundResult> {
      const t = now();
      const slot = live(key, t);
      let chunk = 0;
      let i = 0;
      if (slot !== undefined) {
        chunk = slot >>> CHUNK_BITS;
        i = slot & CHUNK_MASK;
        if (inboundUuid[chunk]![i] === messageUuid && stillSeen(chunk, i, t)) {
          return { state: stateOf(slot), duplicate: true };
        }
      }
      const id = `msg:${key}:${messageUuid}`;
      // Whether an (expired) entry for this id is still in the claims map.
      let present = false;
      if (claims.size > 0) {
        const until = claims.get(id);
        present = until !== undefined;
        if (until !== undefined && until > t) {
          return {
            state: slot === undefined ? { lastInboundAt: at, lastInboundUuid: messageUuid } : stateOf(slot),
            duplicate: true,
          };
        }
      }
      if (slot === undefined) {
        if (at + ttlMs > t) {
          const fresh = allocate();
          chunk = fresh >>> CHUNK_BITS;
          i = fresh & CHUNK_MASK;
          setLatest(chunk, i, at, messageUuid, t);
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
      if (at > times[chunk]![i * FIELDS + AT]!) {
        // The message id it replaces stays seen, now in the claims map.
        retire(key, chunk, i, t);
        setLatest(chunk, i, at, messageUuid, t);
      } else {
        remember(id, t + dedupeTtlMs, present);
      }
      conversations.touch(key, slot);
      return { state: stateOf(slot), duplicate: false };
    },

    async recordOutbound(key, at) {
      const slot = live(key, now());
      if (slot === undefined) return;
      const out = times[slot >>> CHUNK_BITS]![(slot & CHUNK_MASK) * FIELDS + OUT]!;
      if (Number.isNaN(out) || at > out) {
        times[slot >>> CHUNK_BITS]![(slot & CHUNK_MASK) * FIELDS + OUT] = at;
        conversations.touch(key, slot);
      }
    },

    async markClosed(key: ConversationKey, at: number, reason: ClosedReason) {
      const slot = live(key, now());
      if (slot === undefined) return;
      const current = closed.get(slot);
      if (current === undefined || at >= current.at) {
        closed.set(slot, { at, reason });
        conversations.touch(key, slot);
      }
    },

    async getPage(pageId: PageId) {
      const state = pages.get(pageId);
      if (state === undefined) return null;
      const copy: PageState = { linked: state.linked, changedAt: state.changedAt };
      if (state.errorCode !== undefined) copy.errorCode = state.errorCode;
      if (state.errorDetail !== undefined) copy.errorDetail = state.errorDetail;
      return copy;
    },

    async setPageLinked(pageId: PageId, linked: boolean, at: number, details?: PageLinkDetails) {
      const current = pages.get(pageId);
      if (current !== undefined && at < current.changedAt) return;
      const next: PageState = { linked, changedAt: at };
      if (!linked && details?.errorCode !== undefined) next.errorCode = details.errorCode;
      if (!linked && details?.errorDetail !== undefined) next.errorDetail = details.errorDetail;
      pages.set(pageId, next);
    },

    async claim(id, ttl) {
      return claimOnce(`claim:${id}`, ttl);
    },

    async lease(id, ttl, t) {
      const { lease, record } = takeLease(liveDelivery(id, t), ttl, t);
      if (record !== undefined) deliveries.touch(id, { ...record, expires: t + Math.max(ttl, dedupeTtlMs) });
      return lease;
    },

    async settle(id, attempt, ok, t) {
      const current = liveDelivery(id, t);
      const next = settleLease(current, attempt, ok);
      if (next !== undefined)
        deliveries.touch(id, { ...next, expires: Math.max(current?.expires ?? 0, t + dedupeTtlMs) });
    },

    async recordAdReferral(key, at) {
      const slot = live(key, now());
      if (slot === undefined) return;
      const current = adReferrals.get(slot);
      if (current === undefined || at > current) adReferrals.set(slot, at);
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
        const at = times[slot >>> CHUNK_BITS]![(slot & CHUNK_MASK) * FIELDS + AT]!;
        if (at + ttlMs <= t) {
          expired.push([key, slot]);
          continue;
        }
        if (at <= range.from || at > range.to || !isAfter(at, key, range.after)) continue;
        if (prefix !== undefined && !key.startsWith(prefix)) continue;
        // Closed by the platform since the user's latest message: not open (see isOpen).
        if (closed.size > 0 && (closed.get(slot)?.at ?? Number.NEGATIVE_INFINITY) >= at) continue;
        first.offer(at, key, slot);
      }
      const found = first.result().map(({ key, value }) => ({ key: key as ConversationKey, state: stateOf(value) }));
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
        forget(slot);
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
      closed.clear();
      adReferrals.clear();
      tagAvailability.clear();
      times.length = 0;
      inboundUuid.length = 0;
      freeSlots.length = 0;
      nextSlot = 0;
    },
  });
}
