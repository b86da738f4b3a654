/**
 * `vonage-messenger/d1`: a {@link SessionStore} in Cloudflare D1, the shared store of a bot
 * that runs as a Worker (a Worker has no sockets for Redis or PostgreSQL drivers, and every
 * isolate has its own memory). D1 is SQLite: the tables, statements and rules are those of
 * `vonage-messenger/sqlite`, in D1's numbered-parameter syntax.
 *
 * Atomicity without interactive transactions: D1 runs each statement, and each `batch()`,
 * as one transaction on a single writer. `recordInbound` is one batch whose second statement
 * updates the conversation only when the first one recorded a new `message_uuid`
 * (`changes()`), so a duplicate changes nothing even when two isolates race; every other
 * write is one UPSERT or UPDATE.
 *
 * The tables (`T` = the `table` option) are created on first use: `T_conversations`,
 * `T_messages`, `T_pages`, `T_claims`, `T_tokens`, `T_deliveries`. Times are INTEGER epoch milliseconds.
 * Nothing here imports Node: it is part of the Workers build.
 *
 * @module
 */
import type { ConversationKey } from '../ids.js';
import { checkedStore } from './checked.js';
import {
  assertDuration,
  assertTablePrefix,
  badOption,
  checkStoreOptions,
  decodeConversation,
  type PageRow,
  pageFromRow,
  retryAfter,
  storeTimes,
  windowIndexOption,
} from './shared.js';
import { sqlStatements, type TableName, windowIndexSql } from './sql.js';
import type { SqlitePruneResult } from './sqlite.js';
import type { DeliveryLease, RecordInboundResult, SessionStore } from './types.js';

/**
 * The part of D1's prepared statement the store uses (`D1PreparedStatement`).
 */
export interface D1StatementLike {
  /** The statement with its `?1`, `?2`, … values. */
  bind(...values: unknown[]): D1StatementLike;
  /** The first row, or `null`. */
  first<T = Record<string, unknown>>(): Promise<T | null>;
  /** Runs it; D1 reports `meta.changes`. */
  run(): Promise<unknown>;
}

/**
 * The part of Cloudflare's `D1Database` binding the store uses, so that this package needs no
 * Cloudflare types (`env.DB` satisfies it).
 */
export interface D1DatabaseLike {
  /** A statement to bind and run. */
  prepare(query: string): D1StatementLike;
  /** Runs statements in order as one transaction. */
  batch(statements: D1StatementLike[]): Promise<{ results?: unknown[] }[]>;
}

/**
 * Options of {@link d1Store}.
 */
export interface D1StoreOptions {
  /** The D1 binding (`env.DB`). The store never closes it. */
  database: D1DatabaseLike;
  /** Name prefix of the tables. Lowercase letters, digits and `_`. Default `"vonage_messenger"`. */
  table?: string | undefined;
  /** A conversation is forgotten this long after the user's last message. Default 8 days. */
  ttlMs?: number | undefined;
  /** How long a `message_uuid` is remembered as seen. Default 48 h (Vonage retries for 24 h). */
  dedupeTtlMs?: number | undefined;
  /** The clock used for expiry. Default `Date.now`. */
  now?: (() => number) | undefined;
  /**
   * Keep the window index behind `listByLastInbound` (`messenger.expiringSoon`, the window
   * watcher): two indexes on the conversations table. Default true. False leaves them out;
   * the store then has no `listByLastInbound`. Indexes created earlier stay.
   */
  windowIndex?: boolean | undefined;
}

/**
 * Rows deleted by {@link D1Store.prune}: the same tables as the SQLite store's.
 */
export type D1PruneResult = SqlitePruneResult;

/**
 * A D1-backed {@link SessionStore} with its maintenance operation.
 */
export interface D1Store extends SessionStore {
  /** Always present: every isolate shares one per-Page send limit. */
  takeToken: NonNullable<SessionStore['takeToken']>;
  /** Deletes expired conversations, message ids, claims and token buckets idle for `olderThanMs`. */
  prune(options?: { olderThanMs?: number }): Promise<D1PruneResult>;
}

/** The shared SQL in D1's spelling, plus D1's own lease and settle (no interactive transaction). */
function statements(t: TableName, windowIndex: boolean) {
  const index = windowIndexSql('d1', t, t);
  return {
    ...sqlStatements('d1', t),
    schema: [
      `CREATE TABLE IF NOT EXISTS ${t('conversations')} (key TEXT PRIMARY KEY, last_inbound_at INTEGER NOT NULL, last_inbound_uuid TEXT NOT NULL, last_outbound_at INTEGER, closed_at INTEGER, closed_reason TEXT)`,
      `CREATE TABLE IF NOT EXISTS ${t('messages')} (key TEXT NOT NULL, uuid TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (key, uuid)) WITHOUT ROWID`,
      `CREATE TABLE IF NOT EXISTS ${t('pages')} (page_id TEXT PRIMARY KEY, linked INTEGER NOT NULL, changed_at INTEGER NOT NULL, error_code TEXT, error_detail TEXT)`,
      `CREATE TABLE IF NOT EXISTS ${t('claims')} (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS ${t('tokens')} (bucket TEXT PRIMARY KEY, tokens REAL NOT NULL, updated_at INTEGER NOT NULL, allowed INTEGER NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS ${t('deliveries')} (id TEXT PRIMARY KEY, state TEXT NOT NULL, lease_until INTEGER NOT NULL, attempt INTEGER NOT NULL, expires_at INTEGER NOT NULL)`,
      ...(windowIndex ? [index.time, index.page] : []),
    ],
    // The lease rule of lease.ts as one UPSERT (D1 has no interactive transaction): ?1 id,
    // ?2 lease until, ?3 now, ?4 record expiry. A new, expired, failed or lapsed record is
    // taken (RETURNING a row); a held or done one is left alone (no row), then read.
    lease: `INSERT INTO ${t('deliveries')} AS d (id, state, lease_until, attempt, expires_at) VALUES (?1, 'leased', ?2, 1, ?4)
ON CONFLICT (id) DO UPDATE SET state = 'leased', lease_until = excluded.lease_until,
  attempt = CASE WHEN d.expires_at <= ?3 THEN 1 ELSE d.attempt + 1 END, expires_at = excluded.expires_at
WHERE d.expires_at <= ?3 OR d.state = 'failed' OR (d.state = 'leased' AND d.lease_until <= ?3)
RETURNING attempt`,
    // ?1 id, ?2 now
    delivery: `SELECT state, lease_until AS until, attempt FROM ${t('deliveries')} WHERE id = ?1 AND expires_at > ?2`,
    // ?1 id, ?2 attempt, ?3 now, ?4 keep until: success marks the event done whoever holds it.
    settleOk: `INSERT INTO ${t('deliveries')} AS d (id, state, lease_until, attempt, expires_at) VALUES (?1, 'done', 0, ?2, ?4)
ON CONFLICT (id) DO UPDATE SET state = 'done', lease_until = 0,
  attempt = CASE WHEN d.expires_at <= ?3 THEN excluded.attempt ELSE d.attempt END, expires_at = max(d.expires_at, ?4)`,
    // ?1 id, ?2 attempt, ?3 now, ?4 keep until: a failure counts only from the lease's holder.
    settleFailed: `UPDATE ${t('deliveries')} SET state = 'failed', expires_at = max(expires_at, ?4)
WHERE id = ?1 AND state = 'leased' AND attempt = ?2 AND expires_at > ?3`,
  };
}

/** How many rows a `run()` changed (D1 reports it as `meta.changes`). */
const changed = (result: unknown): number => (result as { meta?: { changes?: number } }).meta?.changes ?? 0;

const D1_OPTIONS: Readonly<Record<keyof D1StoreOptions, true>> = {
  database: true,
  table: true,
  ttlMs: true,
  dedupeTtlMs: true,
  now: true,
  windowIndex: true,
};

/**
 * A {@link SessionStore} in Cloudflare D1.
 *
 * @example
 * ```ts
 * // A Worker whose D1 binding is `DB` (the complete Worker, secrets from `env`: docs/deploy.md)
 * export default {
 *   fetch(request: Request, env: { DB: D1DatabaseLike }) {
 *     const messenger = createMessenger({ applicationId, privateKey, signatureSecret, store: d1Store({ database: env.DB }) })
 *     return messenger.webhookHandler()(request)
 *   },
 * }
 * ```
 */
export function d1Store(options: D1StoreOptions): D1Store {
  checkStoreOptions(options, 'd1Store', D1_OPTIONS, 'd1Store({ database: env.DB })');
  const table = options.table ?? 'vonage_messenger';
  assertTablePrefix(table, 'd1Store');
  const db = options.database;
  if (db === null || typeof db !== 'object' || typeof db.prepare !== 'function' || typeof db.batch !== 'function') {
    throw badOption(
      'd1Store needs a D1 database binding (env.DB)',
      'database',
      'must be a D1Database (prepare, batch)',
    );
  }
  const { ttlMs, dedupeTtlMs, now } = storeTimes(options);
  const windowIndex = windowIndexOption(options, 'd1Store');
  const sql = statements((suffix) => `"${table}_${suffix}"`, windowIndex);

  // The tables are created once per store, on first use; a failure is retried next time.
  let ready: Promise<void> | undefined;
  const q = async (query: string, ...values: unknown[]): Promise<D1StatementLike> => {
    ready ??= db.batch(sql.schema.map((s) => db.prepare(s))).then(
      () => undefined,
      (error: unknown) => {
        ready = undefined;
        throw error;
      },
    );
    await ready;
    return db.prepare(query).bind(...values);
  };

  const store: D1Store = {
    async get(key) {
      const row = await (await q(sql.get, key, now() - ttlMs)).first<{ v: string }>();
      return row === null ? null : decodeConversation(row.v);
    },

    async recordInbound(key, at, messageUuid): Promise<RecordInboundResult> {
      const t = now();
      const liveAfter = t - ttlMs;
      // The read runs in the same transaction: what a duplicate reports is the state it lost to.
      const [see, upserted, read] = await db.batch([
        await q(sql.see, key, messageUuid, t + dedupeTtlMs, t),
        await q(sql.upsertConversation, key, at, messageUuid, liveAfter),
        await q(sql.get, key, liveAfter),
      ]);
      if ((see?.results?.length ?? 0) === 0) {
        const row = read?.results?.[0] as { v: string } | undefined;
        return {
          duplicate: true,
          state: row === undefined ? { lastInboundAt: at, lastInboundUuid: messageUuid } : decodeConversation(row.v),
        };
      }
      const row = upserted?.results?.[0] as { v: string } | undefined;
      if (row === undefined) throw new Error('d1Store: the conversation just recorded was not returned');
      return { duplicate: false, state: decodeConversation(row.v) };
    },

    async recordOutbound(key, at) {
      await (await q(sql.recordOutbound, key, at, now() - ttlMs)).run();
    },

    async markClosed(key, at, reason) {
      await (await q(sql.markClosed, key, at, reason, now() - ttlMs)).run();
    },

    async getPage(pageId) {
      const row = await (await q(sql.getPage, pageId)).first<PageRow>();
      return row === null ? null : pageFromRow(row);
    },

    async setPageLinked(pageId, linked, at, details) {
      const code = linked ? null : (details?.errorCode ?? null);
      const detail = linked ? null : (details?.errorDetail ?? null);
      await (await q(sql.setPageLinked, pageId, linked ? 1 : 0, at, code, detail)).run();
    },

    async claim(id, ttl) {
      const t = now();
      return (await (await q(sql.claim, id, t + ttl, t)).first()) !== null;
    },

    async lease(id, ttl, at): Promise<DeliveryLease> {
      const taken = await (await q(sql.lease, id, at + ttl, at, at + Math.max(ttl, dedupeTtlMs))).first<{
        attempt: number;
      }>();
      if (taken !== null) return { state: 'acquired', attempt: taken.attempt, retryAfterMs: 0 };
      // Not taken: held or done. Read after the fact; if it changed in between (settled,
      // expired), answering "held" for a moment only makes Vonage retry a little later.
      const row = await (await q(sql.delivery, id, at)).first<{ state: string; until: number; attempt: number }>();
      if (row?.state === 'done') return { state: 'done', attempt: row.attempt, retryAfterMs: 0 };
      const retryAfterMs = row?.state === 'leased' ? Math.max(row.until - at, 1) : 1_000;
      return { state: 'held', attempt: row?.attempt ?? 0, retryAfterMs };
    },

    async settle(id, attempt, ok, at) {
      await (await q(ok ? sql.settleOk : sql.settleFailed, id, attempt, at, at + dedupeTtlMs)).run();
    },

    async takeToken(bucket, ratePerSecond, burst, at) {
      // One UPSERT statement: atomic on its own.
      const row = await (await q(sql.takeToken, bucket, ratePerSecond, burst, at)).first<{
        allowed: number;
        tokens: number;
      }>();
      if (row === null) throw new Error('d1Store: the token bucket returned no row');
      return row.allowed === 1
        ? { allowed: true, retryAfterMs: 0 }
        : { allowed: false, retryAfterMs: retryAfter(row.tokens, ratePerSecond) };
    },

    async delete(key) {
      await db.batch([await q(sql.deleteMessages, key), await q(sql.deleteConversation, key)]);
    },

    // The window index: indexes of the conversations table (windowIndexSql), kept by D1 in the
    // statement that writes the row. A one-statement batch returns the rows (first() would not).
    async listByLastInbound(range) {
      const from = Math.max(range.from, now() - ttlMs);
      const after = range.after ?? { at: from, key: '' };
      const values = [from, range.to, after.at, after.key, range.limit];
      const [result] = await db.batch([
        range.pageId === undefined
          ? await q(sql.listByLastInbound, ...values)
          : await q(sql.listPageByLastInbound, ...values, range.pageId),
      ]);
      const rows = (result?.results ?? []) as { key: string; v: string }[];
      return rows.map((row) => ({ key: row.key as ConversationKey, state: decodeConversation(row.v) }));
    },

    async close() {
      // The binding belongs to the Worker; there is no connection to release.
    },

    async prune(pruneOptions = {}) {
      const olderThanMs = pruneOptions.olderThanMs ?? ttlMs;
      assertDuration(olderThanMs, 'olderThanMs');
      const t = now();
      const before = t - olderThanMs;
      const results = await db.batch([
        await q(sql.pruneConversations, before),
        await q(sql.pruneMessages, t),
        await q(sql.pruneClaims, t),
        await q(sql.pruneTokens, before),
        await q(sql.pruneDeliveries, t),
      ]);
      const [conversations, messages, claims, tokens] = results.map(changed) as [number, number, number, number];
      return { conversations, messages, claims, tokens };
    },
  };
  if (!windowIndex) delete store.listByLastInbound;
  return checkedStore(recreatingDroppedTables(store, () => (ready = undefined)));
}

/**
 * Tables dropped under a live store (a reset with `wrangler d1 execute` while a deployment
 * runs): the call fails, and the next one creates them again instead of failing for as long
 * as the isolate lives.
 */
function recreatingDroppedTables<S extends object>(store: S, forgetTables: () => void): S {
  for (const [name, method] of Object.entries(store)) {
    if (typeof method !== 'function') continue;
    Object.assign(store, {
      async [name](...args: unknown[]) {
        try {
          return await (method as (...a: unknown[]) => unknown).apply(store, args);
        } catch (error) {
          if (/no such table/i.test(error instanceof Error ? error.message : String(error))) forgetTables();
          throw error;
        }
      },
    });
  }
  return store;
}
