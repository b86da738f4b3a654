/**
 * The default store: process memory, bounded. Right for one process; a fleet needs a shared
 * store (`vonage-messenger/redis`, `/postgres`).
 *
 * @module
 */
import { ValidationError } from '../errors.js';
import type { ConversationKey, PageId } from '../ids.js';
import type {
  ClosedReason,
  ConversationState,
  PageLinkDetails,
  PageState,
  RecordInboundResult,
  SessionStore,
} from './types.js';

/**
 * Options of {@link memoryStore}.
 *
 * @example
 * ```ts
 * const options: MemoryStoreOptions = { maxConversations: 50_000, ttlMs: 8 * 24 * 60 * 60 * 1000 }
 * const store = memoryStore(options)
 * ```
 */
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

/**
 * Default conversation lifetime: HUMAN_AGENT's 7 days plus one.
 *
 * @example
 * ```ts
 * // Keep conversations a day longer than the default, e.g. for a policy with a longer tag window.
 * const store = memoryStore({ ttlMs: DEFAULT_STORE_TTL_MS + 24 * 60 * 60 * 1000 })
 * ```
 */
export const DEFAULT_STORE_TTL_MS = 8 * 24 * 60 * 60 * 1000;
/**
 * Default time a `message_uuid` is remembered as seen.
 *
 * @example
 * ```ts
 * const store = memoryStore({ dedupeTtlMs: DEFAULT_DEDUPE_TTL_MS }) // the default, spelled out
 * ```
 */
export const DEFAULT_DEDUPE_TTL_MS = 48 * 60 * 60 * 1000;

/** A Map that remembers insertion order and drops the oldest entry past `max`. */
class BoundedMap<V> extends Map<string, V> {
  constructor(private readonly max: number) {
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
    if (next.done !== true) this.delete(next.value);
  }

  override clear(): void {
    super.clear();
    this.cursor = undefined;
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
 * const messenger = createMessenger({ ..., store: memoryStore({ maxConversations: 50_000 }) })
 * ```
 */
export function memoryStore(options: MemoryStoreOptions = {}): SessionStore {
  assertValidOptions(options);
  const ttlMs = options.ttlMs ?? DEFAULT_STORE_TTL_MS;
  const dedupeTtlMs = options.dedupeTtlMs ?? DEFAULT_DEDUPE_TTL_MS;
  const now = options.now ?? Date.now;
  const conversations = new BoundedMap<ConversationState>(options.maxConversations ?? 100_000);
  const claims = new BoundedMap<number>(options.maxClaims ?? 200_000);
  const pages = new Map<string, PageState>();

  const live = (key: string): ConversationState | undefined => {
    const state = conversations.get(key);
    if (state !== undefined && state.lastInboundAt + ttlMs <= now()) {
      conversations.delete(key);
      return undefined;
    }
    return state;
  };

  const claimOnce = (id: string, ttl: number): boolean => {
    const t = now();
    const until = claims.get(id);
    if (until !== undefined && until > t) return false;
    claims.touch(id, t + ttl);
    return true;
  };

  return {
    async get(key) {
      const state = live(key);
      return state === undefined ? null : { ...state };
    },

    async recordInbound(key, at, messageUuid): Promise<RecordInboundResult> {
      const current = live(key);
      if (!claimOnce(`msg:${key}:${messageUuid}`, dedupeTtlMs)) {
        return { state: { ...(current ?? { lastInboundAt: at, lastInboundUuid: messageUuid }) }, duplicate: true };
      }
      const next: ConversationState =
        current === undefined
          ? { lastInboundAt: at, lastInboundUuid: messageUuid }
          : at > current.lastInboundAt
            ? { ...current, lastInboundAt: at, lastInboundUuid: messageUuid }
            : current;
      if (next.lastInboundAt + ttlMs > now()) conversations.touch(key, next);
      return { state: { ...next }, duplicate: false };
    },

    async recordOutbound(key, at) {
      const current = live(key);
      if (current === undefined) return;
      if (current.lastOutboundAt === undefined || at > current.lastOutboundAt) {
        conversations.touch(key, { ...current, lastOutboundAt: at });
      }
    },

    async markClosed(key: ConversationKey, at: number, reason: ClosedReason) {
      const current = live(key);
      if (current === undefined) return;
      if (current.closedAt === undefined || at >= current.closedAt) {
        conversations.touch(key, { ...current, closedAt: at, closedReason: reason });
      }
    },

    async getPage(pageId: PageId) {
      const state = pages.get(pageId);
      return state === undefined ? null : { ...state };
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

    async delete(key) {
      conversations.delete(key);
      // A deletion request covers the message ids seen in the conversation too. Rare, so a
      // scan of the bounded claims map is fine.
      const prefix = `msg:${key}:`;
      for (const id of claims.keys()) if (id.startsWith(prefix)) claims.delete(id);
    },

    async close() {
      conversations.clear();
      claims.clear();
      pages.clear();
    },
  };
}
