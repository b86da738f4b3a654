/**
 * `vonage-messenger/sqlite`: a {@link SessionStore} in a SQLite file, for single-host apps that
 * want their windows to survive a restart. The driver is `better-sqlite3` on Node (v11 or v12;
 * v13 crashes on Node 20), the runtime's own `bun:sqlite` on Bun and `node:sqlite` on Deno, or
 * the one named by the `driver` option. WAL mode; each operation runs in one `BEGIN IMMEDIATE`
 * transaction, so several processes on the host can share the file safely.
 *
 * The tables (`T` = the `table` option) are created on first use: `T_conversations`,
 * `T_messages`, `T_pages`, `T_claims`, `T_tokens`. Times are INTEGER epoch milliseconds.
 *
 * @module
 */
import type { ConversationKey } from '../ids.js';
import { checkedStore } from './checked.js';
import { type LeaseRecord, settleLease, takeLease } from './lease.js';
import {
  assertDuration,
  assertTablePrefix,
  badOption,
  checkStoreOptions,
  decodeConversation,
  listAcrossPages,
  type PageRow,
  pageFromRow,
  retryAfter,
  storeTimes,
  tagsFrom,
  toMs,
  windowIndexOption,
} from './shared.js';
import { sqlRules, sqlStatements, windowIndexSql } from './sql.js';
import {
  assertDriverRuns,
  type Driver,
  defaultDriver,
  driverOf,
  openFile,
  SQLITE_DRIVERS,
  type SqliteDatabase,
  type SqliteDriverName,
} from './sqlite-driver.js';
import type { DeliveryLease, FullSessionStore, InboundRange, RecordInboundResult, SessionStore } from './types.js';

export type { SqliteDatabase, SqliteDriverName } from './sqlite-driver.js';

const MAX_BUSY_TIMEOUT_MS = 2_147_483_647;

/** Options of {@link sqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * A Database you opened (the store never closes it): `better-sqlite3`'s, `node:sqlite`'s
   * `DatabaseSync` or `bun:sqlite`'s. Or a file name that the store opens with `driver` (and
   * closes in `close()`).
   */
  database: SqliteDatabase | string;
  /**
   * The driver that opens a file name: `'better-sqlite3'` (an npm install, Node only),
   * `'node:sqlite'` (built into Node 22.13+ and Deno 2.2+) or `'bun:sqlite'` (built into Bun).
   * Default: `'bun:sqlite'` on Bun, `'node:sqlite'` on Deno, `'better-sqlite3'` on Node.
   */
  driver?: SqliteDriverName | undefined;
  /** Name prefix of the tables. Lowercase letters, digits and `_`. Default `"vonage_messenger"`. */
  table?: string | undefined;
  /** A conversation is forgotten this long after the user's last message. Default 8 days. */
  ttlMs?: number | undefined;
  /** How long a `message_uuid` is remembered as seen. Default 48 h (Vonage retries for 24 h). */
  dedupeTtlMs?: number | undefined;
  /**
   * How long to wait for another process's write lock, in ms (a non-negative integer). Default
   * 5000 (files the store opens).
   */
  busyTimeoutMs?: number | undefined;
  /** The clock used for expiry. Default `Date.now`. */
  now?: (() => number) | undefined;
  /**
   * Keep the window index behind `listByLastInbound` (`messenger.expiringSoon`, the window
   * watcher): one partial index on the conversations table, by Page and time. Default true.
   * False leaves it out (saving its bytes and index writes: docs/performance.md); the store
   * then has no `listByLastInbound`. Indexes created earlier stay.
   */
  windowIndex?: boolean | undefined;
}

/** Rows deleted by {@link SqliteStore.prune}. */
export interface SqlitePruneResult {
  /** Conversations whose user last wrote before the cut-off. */
  conversations: number;
  /** Message ids past their dedupe time. */
  messages: number;
  /** Expired one-time claims (webhook replay guards). */
  claims: number;
  /** Token buckets idle since before the cut-off. */
  tokens: number;
}

/** A SQLite-backed {@link SessionStore} with its maintenance operation. */
export interface SqliteStore extends FullSessionStore {
  /** Always present: processes sharing the file share one per-Page send limit. */
  takeToken: NonNullable<SessionStore['takeToken']>;
  /** Deletes expired conversations, message ids, claims and token buckets idle for `olderThanMs`. */
  prune(options?: { olderThanMs?: number }): Promise<SqlitePruneResult>;
}

// No secondary index but the Page window index (windowIndexSql, added in prepare): each adds
// pages to every write (and WAL checkpoints), and prune() alone can afford a scan on a single
// host.
function schema(t: (suffix: string) => string): string {
  return `CREATE TABLE IF NOT EXISTS ${t('conversations')} (
  key TEXT PRIMARY KEY,
  last_inbound_at INTEGER NOT NULL,
  last_inbound_uuid TEXT NOT NULL,
  last_outbound_at INTEGER,
  closed_at INTEGER,
  closed_reason TEXT
);
CREATE TABLE IF NOT EXISTS ${t('messages')} (
  key TEXT NOT NULL,
  uuid TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (key, uuid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ${t('pages')} (
  page_id TEXT PRIMARY KEY,
  linked INTEGER NOT NULL,
  changed_at INTEGER NOT NULL,
  error_code TEXT,
  error_detail TEXT
);
CREATE TABLE IF NOT EXISTS ${t('claims')} (
  id TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ${t('tokens')} (
  bucket TEXT PRIMARY KEY,
  tokens REAL NOT NULL,
  updated_at INTEGER NOT NULL,
  allowed INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ${t('deliveries')} (
  id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  lease_until INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ${t('page_tags')} (
  page_id TEXT NOT NULL,
  tag TEXT NOT NULL,
  available INTEGER NOT NULL,
  changed_at INTEGER NOT NULL,
  error_code TEXT,
  error_detail TEXT,
  PRIMARY KEY (page_id, tag)
) WITHOUT ROWID;
`;
}

/**
 * Adds `ad_referral_at` to a conversations table created before it existed. SQLite has no
 * `ADD COLUMN IF NOT EXISTS`; a second process racing the same ALTER gets "duplicate column".
 */
function addAdReferralColumn(db: Driver, conversations: string): void {
  const columns = db.prepare<[], { name: string }>(`PRAGMA table_info(${conversations})`).all();
  if (columns.some((c) => c.name === 'ad_referral_at')) return;
  try {
    db.exec(`ALTER TABLE ${conversations} ADD COLUMN ad_referral_at INTEGER`);
  } catch (error) {
    if (!(error instanceof Error && /duplicate column/i.test(error.message))) throw error;
  }
}

/** Rows a statement changed: node:sqlite may count them in a BigInt. */
const count = (result: { changes: number | bigint }): number => Number(result.changes);

/** Prepares every statement once; the returned functions each run one atomic operation. */
function prepare(db: Driver, table: string, windowIndex: boolean) {
  const t = (suffix: string) => `"${table}_${suffix}"`;
  db.exec('PRAGMA journal_mode = WAL');
  db.exec(schema(t));
  if (windowIndex) {
    // The Page index alone: listing every Page merges per-Page reads (listByLastInbound below).
    db.exec(windowIndexSql('sqlite', t, (suffix) => `"${table}_${suffix}"`).page);
  }
  addAdReferralColumn(db, t('conversations'));
  const sql = sqlStatements('sqlite', t);
  // The two reads a guarded send makes bind positionally: binding an object costs a name
  // lookup per parameter, about a microsecond of a read this short (docs/performance.md).
  const reads = sqlRules('sqlite', t);
  const s = {
    get: db.prepare<[{ key: string; liveAfter: number }], string>(sql.getEncoded, 'pluck'),
    getWithAd: db.prepare<[string, number], [string, number | null]>(reads.get('?', '?'), 'raw'),
    adReferral: db.prepare(sql.recordAdReferral),
    setTag: db.prepare(sql.setTagAvailability),
    getTags: db.prepare(sql.getTagAvailability),
    see: db.prepare(sql.see),
    upsert: db.prepare<[Record<string, unknown>], string>(sql.upsertConversation, 'pluck'),
    outbound: db.prepare(sql.recordOutbound),
    close: db.prepare(sql.markClosed),
    getPage: db.prepare<[string]>(reads.getPage('?')),
    setPage: db.prepare(sql.setPageLinked),
    claim: db.prepare(sql.claim),
    take: db.prepare(sql.takeToken),
    deleteMessages: db.prepare(sql.deleteMessages),
    deleteConversation: db.prepare(sql.deleteConversation),
    pruneConversations: db.prepare(sql.pruneConversations),
    pruneMessages: db.prepare(sql.pruneMessages),
    pruneClaims: db.prepare(sql.pruneClaims),
    pruneDeliveries: db.prepare(sql.pruneDeliveries),
    pruneTokens: db.prepare(sql.pruneTokens),
    openPages: db.prepare<[], string>(sql.openPages, 'pluck'),
    listPage: db.prepare<[Record<string, unknown>], [string, string, number | null]>(sql.listPageByLastInbound, 'raw'),
    getDelivery: db.prepare<
      [{ id: string; now: number }],
      { state: LeaseRecord['state']; until: number; attempt: number; expires: number }
    >(
      `SELECT state, lease_until AS until, attempt, expires_at AS expires FROM ${t('deliveries')} WHERE id = @id AND expires_at > @now`,
    ),
    putDelivery: db.prepare(`INSERT INTO ${t('deliveries')} (id, state, lease_until, attempt, expires_at)
VALUES (@id, @state, @until, @attempt, @expires)
ON CONFLICT (id) DO UPDATE SET state = excluded.state, lease_until = excluded.lease_until,
  attempt = excluded.attempt, expires_at = excluded.expires_at`),
  };
  // Built once: better-sqlite3 compiles a wrapper per transaction() call. Each write runs as an
  // IMMEDIATE transaction (write lock up front), so two processes never both read the old
  // state and then write.
  const recordInbound = db.immediate(
    (key: string, at: number, uuid: string, t: number, liveAfter: number, until: number): RecordInboundResult => {
      if (s.see.get({ key, uuid, until, now: t }) === undefined) {
        const value = s.get.get({ key, liveAfter });
        return {
          duplicate: true,
          state: value === undefined ? { lastInboundAt: at, lastInboundUuid: uuid } : decodeConversation(value),
        };
      }
      return { duplicate: false, state: decodeConversation(s.upsert.get({ key, at, uuid, liveAfter }) as string) };
    },
  );
  // The lease rule runs in JavaScript (lease.ts) inside one IMMEDIATE transaction.
  const lease = db.immediate((id: string, ttl: number, t: number, keep: number): DeliveryLease => {
    const { lease: decision, record } = takeLease(s.getDelivery.get({ id, now: t }), ttl, t);
    if (record !== undefined) s.putDelivery.run({ id, ...record, expires: t + Math.max(ttl, keep) });
    return decision;
  });
  const settle = db.immediate((id: string, attempt: number, ok: boolean, t: number, keep: number) => {
    const current = s.getDelivery.get({ id, now: t });
    const next = settleLease(current, attempt, ok);
    if (next !== undefined) s.putDelivery.run({ id, ...next, expires: Math.max(current?.expires ?? 0, t + keep) });
  });
  const remove = db.immediate((key: string) => {
    s.deleteMessages.run({ key });
    s.deleteConversation.run({ key });
  });
  const prune = db.immediate(
    (t: number, before: number): SqlitePruneResult => ({
      conversations: count(s.pruneConversations.run({ before })),
      messages: count(s.pruneMessages.run({ now: t })),
      claims: count(s.pruneClaims.run({ now: t })) + count(s.pruneDeliveries.run({ now: t })),
      tokens: count(s.pruneTokens.run({ before })),
    }),
  );
  return { db, s, recordInbound, lease, settle, remove, prune };
}

type Handle = ReturnType<typeof prepare>;

const SQLITE_OPTIONS: Readonly<Record<keyof SqliteStoreOptions, true>> = {
  database: true,
  driver: true,
  table: true,
  ttlMs: true,
  dedupeTtlMs: true,
  busyTimeoutMs: true,
  now: true,
  windowIndex: true,
};

/**
 * A {@link SessionStore} in a SQLite file: `better-sqlite3` on Node, the runtime's own SQLite on
 * Bun and Deno (the `driver` option).
 *
 * @example
 * ```ts
 * import { createMessenger } from 'vonage-messenger'
 * import { sqliteStore } from 'vonage-messenger/sqlite'
 *
 * const messenger = createMessenger({ applicationId, privateKey, store: sqliteStore({ database: './data/messenger.db' }) })
 * ```
 */
export function sqliteStore(options: SqliteStoreOptions): SqliteStore {
  checkStoreOptions(options, 'sqliteStore', SQLITE_OPTIONS, "sqliteStore({ database: 'messenger.db' })");
  const table = options.table ?? 'vonage_messenger';
  assertTablePrefix(table, 'sqliteStore');
  const database = options.database;
  if (database === '') {
    // SQLite would open a private temporary database: nothing shared, nothing kept.
    throw badOption('sqliteStore needs a file name, not an empty string', 'database', 'must not be empty');
  }
  // A Database the app opened is checked now (its kind, open for writing); a file is opened on first use.
  const given = typeof database === 'string' ? undefined : driverOf(database);
  const driver = options.driver ?? defaultDriver();
  if (!SQLITE_DRIVERS.includes(driver)) {
    throw badOption(
      `sqliteStore: unknown driver ${String(driver)}`,
      'driver',
      `must be one of ${SQLITE_DRIVERS.join(', ')}`,
    );
  }
  if (given === undefined) assertDriverRuns(driver);
  const { ttlMs, dedupeTtlMs, now } = storeTimes(options);
  const windowIndex = windowIndexOption(options, 'sqliteStore');
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  // SQLite's busy timeout is a C int: better-sqlite3 refuses more, the others cap it.
  if (!(Number.isSafeInteger(busyTimeoutMs) && busyTimeoutMs >= 0 && busyTimeoutMs <= MAX_BUSY_TIMEOUT_MS)) {
    throw badOption(
      `sqliteStore: busyTimeoutMs must be an integer number of ms from 0 to ${MAX_BUSY_TIMEOUT_MS}, got ${JSON.stringify(busyTimeoutMs)}`,
      'busyTimeoutMs',
      `must be an integer from 0 to ${MAX_BUSY_TIMEOUT_MS} (ms)`,
    );
  }
  const owned = given === undefined;

  // Opened on first use (loading its driver lazily); afterwards `handle` is used directly,
  // so a call costs no extra await.
  let handle: Handle | undefined;
  let opening: Promise<Handle> | undefined;
  const open = (): Promise<Handle> => {
    opening ??= (async () => {
      if (given !== undefined) {
        handle = prepare(given, table, windowIndex);
        return handle;
      }
      const db = await openFile(driver, database as string, busyTimeoutMs);
      try {
        // WAL + NORMAL: durable across application crashes, one fsync per checkpoint.
        db.exec('PRAGMA synchronous = NORMAL');
        handle = prepare(db, table, windowIndex);
      } catch (error) {
        // Not a database, or locked: the next call opens it again, so this one must not leak.
        db.close();
        throw error;
      }
      return handle;
    })();
    // A failed open (missing driver, unwritable path) is retried on the next call.
    opening.catch(() => {
      opening = undefined;
    });
    return opening;
  };

  const store: SqliteStore = {
    async get(key) {
      const { s } = handle ?? (await open());
      const row = s.getWithAd.get(key, now() - ttlMs);
      if (row === undefined) return null;
      const state = decodeConversation(row[0]);
      if (row[1] !== null) state.adReferralAt = toMs(row[1], 'ad_referral_at');
      return state;
    },

    async recordAdReferral(key, at) {
      const { s } = handle ?? (await open());
      s.adReferral.run({ key, at, liveAfter: now() - ttlMs });
    },

    async setTagAvailability(pageId, tag, available, at, details) {
      const { s } = handle ?? (await open());
      s.setTag.run({
        page: pageId,
        tag,
        available: available ? 1 : 0,
        at,
        code: available ? null : (details?.errorCode ?? null),
        detail: available ? null : (details?.errorDetail ?? null),
      });
    },

    async getTagAvailability(pageId) {
      const { s } = handle ?? (await open());
      const rows = s.getTags.all({ page: pageId }) as {
        tag: string;
        available: number;
        changed_at: number;
        error_code: string | null;
        error_detail: string | null;
      }[];
      return tagsFrom(
        rows.map((r) => [r.tag, { a: r.available, t: r.changed_at, e: r.error_code, d: r.error_detail }] as const),
      );
    },

    async recordInbound(key, at, messageUuid) {
      const h = handle ?? (await open());
      const t = now();
      return h.recordInbound(key, at, messageUuid, t, t - ttlMs, t + dedupeTtlMs);
    },

    async recordOutbound(key, at) {
      const { s } = handle ?? (await open());
      s.outbound.run({ key, at, liveAfter: now() - ttlMs });
    },

    async markClosed(key, at, reason) {
      const { s } = handle ?? (await open());
      s.close.run({ key, at, reason, liveAfter: now() - ttlMs });
    },

    async getPage(pageId) {
      const { s } = handle ?? (await open());
      const row = s.getPage.get(pageId) as PageRow | undefined;
      return row === undefined ? null : pageFromRow(row);
    },

    async setPageLinked(pageId, linked, at, details) {
      const { s } = handle ?? (await open());
      s.setPage.run({
        page: pageId,
        linked: linked ? 1 : 0,
        at,
        code: linked ? null : (details?.errorCode ?? null),
        detail: linked ? null : (details?.errorDetail ?? null),
      });
    },

    async claim(id, ttl) {
      const { s } = handle ?? (await open());
      const t = now();
      return s.claim.get({ id, until: t + ttl, now: t }) !== undefined;
    },

    async lease(id, ttl, at) {
      return (handle ?? (await open())).lease(id, ttl, at, dedupeTtlMs);
    },

    async settle(id, attempt, ok, at) {
      (handle ?? (await open())).settle(id, attempt, ok, at, dedupeTtlMs);
    },

    async takeToken(bucket, ratePerSecond, burst, at) {
      const { s } = handle ?? (await open());
      // One UPSERT statement: atomic on its own (SQLite takes the write lock for it).
      const row = s.take.get({ bucket, rate: ratePerSecond, burst, now: at }) as { allowed: number; tokens: number };
      return row.allowed === 1
        ? { allowed: true, retryAfterMs: 0 }
        : { allowed: false, retryAfterMs: retryAfter(row.tokens, ratePerSecond) };
    },

    async delete(key) {
      (handle ?? (await open())).remove(key);
    },

    // The window index: a partial index of the conversations table (windowIndexSql), so every
    // write of a row keeps it in the same transaction, and prune trims it. Every Page is the
    // merge of per-Page reads over the Pages a skip scan of that index finds: with one index
    // instead of two, a write rewrites one index leaf fewer.
    async listByLastInbound(range) {
      const { s } = handle ?? (await open());
      const from = Math.max(range.from, now() - ttlMs);
      const listPage = (page: string, pageFrom: number, after: InboundRange['after'], limit: number) =>
        s.listPage
          .all({
            from: pageFrom,
            to: range.to,
            afterAt: after?.at ?? pageFrom,
            afterKey: after?.key ?? '',
            limit,
            page,
          })
          .map(([key, v, ad]) => {
            const state = decodeConversation(v);
            if (ad !== null) state.adReferralAt = toMs(ad, 'ad_referral_at');
            return { key: key as ConversationKey, state };
          });
      if (range.pageId !== undefined) return listPage(range.pageId, from, range.after, range.limit);
      return listAcrossPages(s.openPages.all(), { ...range, from }, async (page, pageFrom, after, want) =>
        listPage(page, pageFrom, after, want),
      );
    },

    async close() {
      if (!owned || opening === undefined) return;
      const { db } = await opening;
      opening = undefined;
      handle = undefined;
      db.close();
    },

    async prune(pruneOptions = {}) {
      const olderThanMs = pruneOptions.olderThanMs ?? ttlMs;
      assertDuration(olderThanMs, 'olderThanMs');
      const h = handle ?? (await open());
      const t = now();
      return h.prune(t, t - olderThanMs);
    },
  };
  if (!windowIndex) delete store.listByLastInbound;
  return checkedStore(store);
}
