/**
 * A complete custom SessionStore on a DynamoDB-style key/value table: items carry a version,
 * and a write succeeds only if the version is still the one that was read (DynamoDB's
 * `ConditionExpression`, etcd's transactions, a MariaDB `UPDATE … WHERE version = ?`). That one
 * primitive is enough to make every operation atomic: read, decide, write-if-unchanged, and
 * read again when another process won the race.
 *
 * Each conversation is ONE item holding its state and the message ids seen recently, so the
 * dedupe check and the window update are a single conditional write.
 *
 * The window index (listByLastInbound) rides on that same write: an open conversation's item
 * carries an index entry (partition = its Page, sort = its time and key), as a DynamoDB item
 * carries the attributes of a sparse global secondary index. A table without `query` gets a
 * store without listByLastInbound. (DynamoDB keeps a GSI eventually consistent: a listing may
 * trail a write by a moment there.)
 *
 * Validated by the conformance suite: test/stores/custom-kv.test.ts runs
 * `describeSessionStore('keyValueStore', …)` on it. docs/stores.md walks through it.
 */
// In your app: from 'vonage-messenger'.
import type {
  ClosedReason,
  ConversationKey,
  ConversationState,
  InboundEntry,
  LeaseRecord,
  PageId,
  PageLinkDetails,
  PageState,
  RecordInboundResult,
  SessionStore,
  TagAvailability,
} from '../src/index.js';
import { settleLease, takeLease } from '../src/index.js';

/** An item's entry in the table's one secondary index (a DynamoDB sparse GSI). */
export interface IndexEntry {
  partition: string;
  sort: string;
}

/**
 * The calls the store needs from the table (GetItem, conditional PutItem, DeleteItem, and a
 * Query on the secondary index for listByLastInbound).
 */
export interface KeyValueTable {
  get(key: string): Promise<{ value: string; version: number } | null>;
  /**
   * Writes `value` (and its `index` entry; none when omitted) if the item's version is still
   * `expectedVersion` (`null`: the item must not exist) and returns true; returns false when
   * someone else wrote first.
   */
  put(key: string, value: string, expectedVersion: number | null, index?: IndexEntry): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** The items indexed in `partition` with `after < sort < before`, by sort, at most `limit`. */
  query?(partition: string, after: string, before: string, limit: number): Promise<{ key: string; value: string }[]>;
}

export interface KeyValueStoreOptions {
  /** Conversation lifetime after the user's last message. Default 8 days. */
  ttlMs?: number;
  /** How long a message id is remembered. Default 48 h. */
  dedupeTtlMs?: number;
  now?: () => number;
}

interface ConversationItem {
  state?: ConversationState;
  /** message id → remembered until (epoch ms) */
  seen: Record<string, number>;
}

const UNCHANGED = Symbol('unchanged');

export function keyValueStore(table: KeyValueTable, options: KeyValueStoreOptions = {}): SessionStore {
  const ttlMs = options.ttlMs ?? 8 * 24 * 60 * 60 * 1000;
  const dedupeTtlMs = options.dedupeTtlMs ?? 48 * 60 * 60 * 1000;
  const now = options.now ?? Date.now;

  /**
   * Read → change → conditional write, retried until no other writer got in between. `index`
   * gives the item's index entry from its new value (none by default).
   */
  async function atomically<T, R>(
    key: string,
    change: (current: T | undefined) => [next: T | typeof UNCHANGED, result: R],
    index: (next: T) => IndexEntry | undefined = () => undefined,
  ): Promise<R> {
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const item = await table.get(key);
      const [next, result] = change(item === null ? undefined : (JSON.parse(item.value) as T));
      if (next === UNCHANGED) return result;
      if (await table.put(key, JSON.stringify(next), item?.version ?? null, index(next))) return result;
    }
    throw new Error(`keyValueStore: too much write contention on ${key}`);
  }

  const live = (item: ConversationItem | undefined, t: number): ConversationState | undefined =>
    item?.state !== undefined && item.state.lastInboundAt + ttlMs > t ? item.state : undefined;

  // --- The window index: an open conversation's entry sorts by (lastInboundAt, key). Times
  // are non-negative integers, zero-padded to the 16 digits of the largest Date, so string
  // order is time order; the key (digits and ':') breaks ties in byte order.
  const sortOf = (at: number, key: string) => `${String(at).padStart(16, '0')}:${key}`;
  /** Entry for a conversation that is open (not closed by the platform since its latest message). */
  const conversationIndex =
    (key: ConversationKey) =>
    ({ state }: ConversationItem): IndexEntry | undefined =>
      state === undefined || (state.closedAt !== undefined && state.closedAt >= state.lastInboundAt)
        ? undefined
        : { partition: `page:${key.slice(0, key.indexOf(':'))}`, sort: sortOf(state.lastInboundAt, key) };
  /**
   * Pages this process has put in the `pages` item, the list a query over every Page reads:
   * written once per Page and process, not per message (no item takes the fleet's writes).
   */
  const registered = new Set<string>();
  const register = async (page: string) => {
    if (registered.has(page)) return;
    await atomically<string[], void>('pages', (pages = []) => [
      pages.includes(page) ? UNCHANGED : [...pages, page],
      undefined,
    ]);
    registered.add(page);
  };
  // --- end of the window index

  /** Applies `change` to a live conversation; an unknown or expired one is left alone. */
  const updateLive = (key: ConversationKey, change: (state: ConversationState) => ConversationState | undefined) =>
    atomically<ConversationItem, void>(
      `conv:${key}`,
      (item) => {
        const state = live(item, now());
        const next = state === undefined ? undefined : change(state);
        return [item === undefined || next === undefined ? UNCHANGED : { ...item, state: next }, undefined];
      },
      conversationIndex(key),
    );

  const store: SessionStore = {
    async get(key) {
      const item = await table.get(`conv:${key}`);
      const state = item === null ? undefined : live(JSON.parse(item.value) as ConversationItem, now());
      return state === undefined ? null : { ...state };
    },

    async recordInbound(key, at, messageUuid) {
      if (table.query !== undefined) await register(key.slice(0, key.indexOf(':')));
      return atomically<ConversationItem, RecordInboundResult>(
        `conv:${key}`,
        (item) => {
          const t = now();
          const current = live(item, t);
          const seenUntil = item?.seen[messageUuid];
          if (seenUntil !== undefined && seenUntil > t) {
            return [
              UNCHANGED,
              { duplicate: true, state: current ?? { lastInboundAt: at, lastInboundUuid: messageUuid } },
            ];
          }
          // Forget expired ids so the item stays small.
          const seen: Record<string, number> = {};
          for (const [id, until] of Object.entries(item?.seen ?? {})) if (until > t) seen[id] = until;
          seen[messageUuid] = t + dedupeTtlMs;
          const state =
            current === undefined
              ? { lastInboundAt: at, lastInboundUuid: messageUuid }
              : at > current.lastInboundAt
                ? { ...current, lastInboundAt: at, lastInboundUuid: messageUuid }
                : current;
          return [
            { state, seen },
            { duplicate: false, state: { ...state } },
          ];
        },
        conversationIndex(key),
      );
    },

    recordOutbound(key, at) {
      return updateLive(key, (state) =>
        state.lastOutboundAt === undefined || at > state.lastOutboundAt ? { ...state, lastOutboundAt: at } : undefined,
      );
    },

    markClosed(key: ConversationKey, at: number, reason: ClosedReason) {
      return updateLive(key, (state) =>
        state.closedAt === undefined || at >= state.closedAt
          ? { ...state, closedAt: at, closedReason: reason }
          : undefined,
      );
    },

    recordAdReferral(key, at) {
      return updateLive(key, (state) =>
        state.adReferralAt === undefined || at > state.adReferralAt ? { ...state, adReferralAt: at } : undefined,
      );
    },

    setTagAvailability(pageId: PageId, tag: string, available: boolean, at: number, details?: PageLinkDetails) {
      return atomically<Record<string, TagAvailability>, void>(`tags:${pageId}`, (current) => {
        const old = current !== undefined && Object.hasOwn(current, tag) ? current[tag] : undefined;
        if (old !== undefined && at < old.changedAt) return [UNCHANGED, undefined];
        const next: TagAvailability = { available, changedAt: at };
        if (!available && details?.errorCode !== undefined) next.errorCode = details.errorCode;
        if (!available && details?.errorDetail !== undefined) next.errorDetail = details.errorDetail;
        const tags = { ...current };
        Object.defineProperty(tags, tag, { value: next, enumerable: true, configurable: true, writable: true });
        return [tags, undefined];
      });
    },

    async getTagAvailability(pageId: PageId) {
      const item = await table.get(`tags:${pageId}`);
      // JSON.parse keeps a "__proto__" key as an own property, never as the prototype.
      return item === null ? {} : (JSON.parse(item.value) as Record<string, TagAvailability>);
    },

    async getPage(pageId: PageId) {
      const item = await table.get(`page:${pageId}`);
      return item === null ? null : (JSON.parse(item.value) as PageState);
    },

    setPageLinked(pageId: PageId, linked: boolean, at: number, details?: PageLinkDetails) {
      return atomically<PageState, void>(`page:${pageId}`, (current) => {
        if (current !== undefined && at < current.changedAt) return [UNCHANGED, undefined];
        const next: PageState = { linked, changedAt: at };
        if (!linked && details?.errorCode !== undefined) next.errorCode = details.errorCode;
        if (!linked && details?.errorDetail !== undefined) next.errorDetail = details.errorDetail;
        return [next, undefined];
      });
    },

    claim(id, ttl) {
      return atomically<{ until: number }, boolean>(`claim:${id}`, (current) => {
        const t = now();
        return current !== undefined && current.until > t ? [UNCHANGED, false] : [{ until: t + ttl }, true];
      });
    },

    // The delivery lease: the SDK's rule (takeLease / settleLease), applied in one conditional
    // write, like every other operation here.
    lease(id, ttl, t) {
      return atomically<LeaseRecord & { expires: number }, Awaited<ReturnType<SessionStore['lease']>>>(
        `delivery:${id}`,
        (item) => {
          const { lease, record } = takeLease(item !== undefined && item.expires > t ? item : undefined, ttl, t);
          return [record === undefined ? UNCHANGED : { ...record, expires: t + Math.max(ttl, dedupeTtlMs) }, lease];
        },
      );
    },

    settle(id, attempt, ok, t) {
      return atomically<LeaseRecord & { expires: number }, void>(`delivery:${id}`, (item) => {
        const current = item !== undefined && item.expires > t ? item : undefined;
        const next = settleLease(current, attempt, ok);
        return [
          next === undefined ? UNCHANGED : { ...next, expires: Math.max(current?.expires ?? 0, t + dedupeTtlMs) },
          undefined,
        ];
      });
    },

    async delete(key) {
      // The item holds the state and the message ids: one delete forgets both.
      await table.delete(`conv:${key}`);
    },

    // Each Page is one index partition: every Page is asked for `limit` entries, then merged.
    async listByLastInbound(range) {
      const query = table.query?.bind(table);
      if (query === undefined) return [];
      const from = Math.max(range.from, now() - ttlMs);
      // (from, to]: every entry of a time sorts before "time:;" (';' follows the digits).
      let after = sortOf(from, ';');
      const cursor = range.after === undefined ? undefined : sortOf(range.after.at, range.after.key);
      if (cursor !== undefined && cursor > after) after = cursor;
      const before = sortOf(range.to, ';');
      const item = range.pageId === undefined ? await table.get('pages') : null;
      const pages =
        range.pageId === undefined ? (item === null ? [] : (JSON.parse(item.value) as string[])) : [range.pageId];
      const found: (InboundEntry & { sort: string })[] = [];
      for (const page of pages) {
        for (const hit of await query(`page:${page}`, after, before, range.limit)) {
          const key = hit.key.slice('conv:'.length) as ConversationKey;
          const { state } = JSON.parse(hit.value) as ConversationItem;
          if (state !== undefined) found.push({ key, state, sort: sortOf(state.lastInboundAt, key) });
        }
      }
      found.sort((a, b) => (a.sort < b.sort ? -1 : 1));
      return found.slice(0, range.limit).map(({ key, state }) => ({ key, state }));
    },

    async close() {},
  };
  if (table.query === undefined) delete store.listByLastInbound;
  return store;
}

/**
 * An in-process {@link KeyValueTable} with real interleaving (every call yields to the event
 * loop), for tests. In production, implement the interface on your database (docs/stores.md
 * shows DynamoDB).
 */
export function memoryKeyValueTable(): KeyValueTable {
  const items = new Map<string, { value: string; version: number; index?: IndexEntry | undefined }>();
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    async get(key) {
      await tick();
      const item = items.get(key);
      return item === undefined ? null : { value: item.value, version: item.version };
    },
    async put(key, value, expectedVersion, index) {
      await tick();
      const version = items.get(key)?.version ?? null;
      if (version !== expectedVersion) return false;
      // The item and its index entry change together, as a DynamoDB item and its GSI attributes.
      items.set(key, { value, version: (version ?? 0) + 1, index });
      return true;
    },
    async delete(key) {
      await tick();
      items.delete(key);
    },
    async query(partition, after, before, limit) {
      await tick();
      // A scan stands in for the database's index here.
      return [...items]
        .filter(([, { index }]) => index?.partition === partition && index.sort > after && index.sort < before)
        .sort(([, a], [, b]) => ((a.index?.sort ?? '') < (b.index?.sort ?? '') ? -1 : 1))
        .slice(0, limit)
        .map(([key, { value }]) => ({ key, value }));
    },
  };
}
