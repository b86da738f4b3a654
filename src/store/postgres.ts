/**
 * `vonage-messenger/postgres`: a {@link SessionStore} on PostgreSQL through a `pg` Pool that you
 * create. Every operation is one statement (a named prepared statement, parsed once per
 * connection); `recordInbound` dedupes and upserts in a single statement, so concurrent
 * processes never lose a window or count a message twice.
 *
 * Tables (`T` = the `table` option, default `vonage_messenger`), created by `createTables()` or
 * by the migration printed by {@link postgresSchemaSql} (also in docs/stores.md):
 * `T_conversations`, `T_messages` (message ids, for dedupe), `T_pages`, `T_claims`, `T_tokens`,
 * `T_page_tags` (tags the platform refused for a Page).
 * Times are `bigint` epoch milliseconds. `listByLastInbound` reads the partial index
 * `T_conv_page_open_idx` (one Page) and `T_conv_at_idx` (every Page); an existing table gets
 * the first from `createTables()`, or without a write lock from the `CREATE INDEX
 * CONCURRENTLY` in docs/stores.md.
 *
 * @module
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Pool, QueryResultRow } from 'pg';
import { ValidationError } from '../errors.js';
import type { ConversationKey } from '../ids.js';
import { checkedStore } from './checked.js';
import {
  assertDuration,
  badOption,
  checkStoreOptions,
  decodeConversation,
  pageFrom,
  retryAfter,
  storeTimes,
  tagsFrom,
  toMs,
  windowIndexOption,
} from './shared.js';
import { sqlRules, sqlStatements, type TableName, windowIndexSql } from './sql.js';
import type { ConversationState, DeliveryLease, FullSessionStore, IngestResult, SessionStore } from './types.js';

/** Where the store's tables live. */
export interface PostgresTableOptions {
  /**
   * Name prefix of the tables: `<table>_conversations`, `<table>_messages`, … Lowercase
   * letters, digits and `_`, at most 40 characters. Default `"vonage_messenger"`.
   */
  table?: string | undefined;
  /** Schema of the tables. Same character rules, at most 63 characters. Default `"public"`. */
  schema?: string | undefined;
  /**
   * Keep the window index behind `listByLastInbound` (`messenger.expiringSoon`, the window
   * watcher): a partial index on each Page's open conversations. Default true. False leaves
   * it out of the schema, saving its bytes and index writes (docs/performance.md); the store
   * then has no `listByLastInbound`.
   */
  windowIndex?: boolean | undefined;
}

/** Options of {@link postgresStore}. */
export interface PostgresStoreOptions extends PostgresTableOptions {
  /**
   * A `pg` Pool. The store never ends it. For fail-fast behaviour when PostgreSQL is down, set
   * `connectionTimeoutMillis` and `query_timeout`, and listen to `pool.on('error')`.
   */
  pool: Pool;
  /** A conversation is forgotten this long after the user's last message. Default 8 days. */
  ttlMs?: number | undefined;
  /** How long a `message_uuid` is remembered as seen. Default 48 h (Vonage retries for 24 h). */
  dedupeTtlMs?: number | undefined;
  /** The clock used for expiry. Default `Date.now`. */
  now?: (() => number) | undefined;
  /**
   * `false` commits each webhook's writes (the one `T_ingest` call) without waiting for the
   * WAL flush (`synchronous_commit = off` for that transaction only): several times faster
   * where fsync is slow. If PostgreSQL itself crashes, the last few hundred milliseconds of
   * acknowledged webhooks may be lost, so a later copy of one is delivered again; an
   * application crash loses nothing. Default `true`.
   */
  synchronousCommit?: boolean | undefined;
  /**
   * `false` sends each statement unnamed, parsed on every call, for a pooler that hands each
   * transaction a different server connection: PgBouncer in transaction mode before 1.21 or
   * without `max_prepared_statements`, and other transaction poolers. Named statements are
   * parsed once per connection and fail there with "prepared statement … does not exist" or
   * "already exists". Default `true`.
   */
  preparedStatements?: boolean | undefined;
}

/** Options of {@link PostgresStore.prune}. */
export interface PruneOptions {
  /** Delete conversations (and idle token buckets) older than this. Default: the store's `ttlMs`. */
  olderThanMs?: number;
}

/** Rows deleted by a prune. */
export interface PruneResult {
  /** Conversations whose user last wrote before the cut-off. */
  conversations: number;
  /** Message ids past their dedupe time. */
  messages: number;
  /** Expired one-time claims (webhook replay guards). */
  claims: number;
  /** Token buckets idle since before the cut-off. */
  tokens: number;
}

/** A PostgreSQL-backed {@link SessionStore} with its maintenance operations. */
export interface PostgresStore extends FullSessionStore {
  /** Always present: the buckets live in `T_tokens`, so a fleet shares one per-Page limit. */
  takeToken: NonNullable<SessionStore['takeToken']>;
  /** Creates the schema, tables and indexes if missing. Idempotent, safe to race. */
  createTables(): Promise<void>;
  /** Deletes expired conversations, message ids, claims and idle token buckets. */
  prune(options?: PruneOptions): Promise<PruneResult>;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

function identifier(value: string, name: string, max: number): string {
  if (typeof value !== 'string' || value.length > max || !IDENTIFIER.test(value)) {
    throw new ValidationError(
      `postgresStore ${name} must be lowercase letters, digits and _ (not starting with a digit), at most ${max} characters: ${JSON.stringify(value)}`,
      [{ path: name, message: `must match ${IDENTIFIER} and be at most ${max} characters` }],
    );
  }
  // Validated above, quoted anyway: the name can never be read as SQL.
  return `"${value}"`;
}

interface Names {
  schema: string;
  /** The qualified name of the table with this suffix. */
  table: TableName;
  conversations: string;
  messages: string;
  pages: string;
  claims: string;
  tokens: string;
  deliveries: string;
  /** The ingest function (one round trip per webhook). */
  ingest: string;
  pageTags: string;
  /** Index names (schema-scoped, unqualified). */
  index: (suffix: string) => string;
  /** The schema-qualified name, used as the advisory lock key. */
  label: string;
}

function names(options: PostgresTableOptions): Names {
  const table = options.table ?? 'vonage_messenger';
  const schema = options.schema ?? 'public';
  identifier(table, 'table', 40);
  const s = identifier(schema, 'schema', 63);
  const t = (suffix: string) => `${s}."${table}_${suffix}"`;
  return {
    schema: s,
    table: t,
    conversations: t('conversations'),
    messages: t('messages'),
    pages: t('pages'),
    claims: t('claims'),
    tokens: t('tokens'),
    deliveries: t('deliveries'),
    ingest: t('ingest'),
    pageTags: t('page_tags'),
    index: (suffix) => `"${table}_${suffix}"`,
    label: `${schema}.${table}`,
  };
}

/**
 * The migration that creates the store's tables: paste it into your migration tool, or call
 * `store.createTables()` at startup. Idempotent (`IF NOT EXISTS`).
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs'
 * writeFileSync('migrations/001_vonage_messenger.sql', postgresSchemaSql({ schema: 'messaging' }))
 * ```
 */
export function postgresSchemaSql(options: PostgresTableOptions = {}): string {
  const n = names(options);
  const schema = n.schema === '"public"' ? '' : `CREATE SCHEMA IF NOT EXISTS ${n.schema};\n`;
  return `${schema}CREATE TABLE IF NOT EXISTS ${n.conversations} (
  key text COLLATE "C" PRIMARY KEY,
  last_inbound_at bigint NOT NULL,
  last_inbound_uuid text NOT NULL,
  last_outbound_at bigint,
  closed_at bigint,
  closed_reason text
);
CREATE INDEX IF NOT EXISTS ${n.index('conv_at_idx')} ON ${n.conversations} (last_inbound_at);
${!windowIndexOption(options, 'postgresSchemaSql') ? '' : `${windowIndexSql('postgres', n.table, n.index).page};\n`}CREATE TABLE IF NOT EXISTS ${n.messages} (
  key text COLLATE "C" NOT NULL,
  uuid text COLLATE "C" NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY (key, uuid)
);
CREATE INDEX IF NOT EXISTS ${n.index('msg_exp_idx')} ON ${n.messages} (expires_at);
CREATE TABLE IF NOT EXISTS ${n.pages} (
  page_id text COLLATE "C" PRIMARY KEY,
  linked boolean NOT NULL,
  changed_at bigint NOT NULL,
  error_code text,
  error_detail text
);
CREATE TABLE IF NOT EXISTS ${n.claims} (
  id text COLLATE "C" PRIMARY KEY,
  expires_at bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS ${n.index('claim_exp_idx')} ON ${n.claims} (expires_at);
CREATE TABLE IF NOT EXISTS ${n.tokens} (
  bucket text COLLATE "C" PRIMARY KEY,
  tokens double precision NOT NULL,
  updated_at bigint NOT NULL,
  allowed boolean NOT NULL
);
CREATE TABLE IF NOT EXISTS ${n.deliveries} (
  id text COLLATE "C" PRIMARY KEY,
  state "char" NOT NULL,
  lease_until bigint NOT NULL,
  attempt integer NOT NULL,
  expires_at bigint NOT NULL,
  holder text NOT NULL
);
CREATE INDEX IF NOT EXISTS ${n.index('delivery_exp_idx')} ON ${n.deliveries} (expires_at);
ALTER TABLE ${n.conversations} ADD COLUMN IF NOT EXISTS ad_referral_at bigint;
CREATE TABLE IF NOT EXISTS ${n.pageTags} (
  page_id text COLLATE "C" NOT NULL,
  tag text COLLATE "C" NOT NULL,
  available boolean NOT NULL,
  changed_at bigint NOT NULL,
  error_code text,
  error_detail text,
  PRIMARY KEY (page_id, tag)
);
${ingestFunctionSql(n)}`;
}

/**
 * The shared rules, plus PostgreSQL's own: the lease in one UPSERT (the pool gives no
 * interactive transaction per call) and recordInbound as one statement (dedupe, then upsert).
 * Placeholders are the caller's (`$1::text` in a statement, `p_key` in the ingest function).
 */
const sqlOf = (n: Names) => {
  const q = sqlRules('postgres', n.table);
  return {
    ...q,
    // A copy may take the lease when there is no live record, the last attempt failed, or its
    // lease ran out; `holder` tells the caller whether it was this call that took it.
    lease: (id: string, now: string, until: string, expires: string, holder: string) => {
      const free = `(d.expires_at <= ${now} OR d.state = 'f' OR (d.state = 'l' AND d.lease_until <= ${now}))`;
      return `INSERT INTO ${n.deliveries} AS d (id, state, lease_until, attempt, expires_at, holder)
VALUES (${id}, 'l', ${until}, 1, ${expires}, ${holder})
ON CONFLICT (id) DO UPDATE SET
  state = CASE WHEN ${free} THEN 'l' ELSE d.state END,
  lease_until = CASE WHEN ${free} THEN EXCLUDED.lease_until ELSE d.lease_until END,
  attempt = CASE WHEN d.expires_at <= ${now} THEN 1 WHEN ${free} THEN d.attempt + 1 ELSE d.attempt END,
  expires_at = CASE WHEN ${free} THEN GREATEST(d.expires_at, EXCLUDED.expires_at) ELSE d.expires_at END,
  holder = CASE WHEN ${free} THEN EXCLUDED.holder ELSE d.holder END
RETURNING d.state::text, d.attempt, d.lease_until, d.holder = ${holder}`;
    },
    recordInbound: (key: string, at: string, uuid: string, now: string, until: string, liveAfter: string) =>
      `WITH seen AS (
${q.see(key, uuid, until, now)}
), up AS (
${q.upsertConversation(`SELECT ${key}, ${at}, ${uuid} FROM seen`, liveAfter, `false AS duplicate, ${q.encoded('c.')} AS state`)}
)
SELECT duplicate, state FROM up
UNION ALL
SELECT true, ${q.encoded('c.')} FROM ${n.conversations} c
WHERE c.key = ${key} AND c.last_inbound_at > ${liveAfter} AND NOT EXISTS (SELECT 1 FROM seen)`,
  };
};

/**
 * `T_ingest(...)`: everything one verified webhook writes (SessionStore.ingest), so that it
 * costs one round trip. Each step is the same statement the single operation runs.
 */
function ingestFunctionSql(n: Names): string {
  const q = sqlOf(n);
  return `CREATE OR REPLACE FUNCTION ${n.ingest}(
  p_now bigint, p_replay text, p_replay_until bigint, p_kind text, p_key text, p_page text,
  p_at bigint, p_uuid text, p_live_after bigint, p_seen_until bigint, p_effect text,
  p_reason text, p_code text, p_detail text, p_status_id text, p_status_until bigint,
  p_lease text, p_lease_until bigint, p_lease_expires bigint, p_holder text)
RETURNS TABLE (o_replayed boolean, o_duplicate boolean, o_state text, o_applied boolean,
  o_lease_state text, o_attempt integer, o_lease_until bigint, o_acquired boolean)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
BEGIN
  o_replayed := false; o_duplicate := false; o_applied := false; o_acquired := false;
  ${q.claim('p_replay', 'p_replay_until', 'p_now')};
  IF NOT FOUND THEN
    o_replayed := true;
    RETURN NEXT;
    RETURN;
  END IF;
  IF p_kind = 'm' THEN
    ${q.recordInbound('p_key', 'p_at', 'p_uuid', 'p_now', 'p_seen_until', 'p_live_after')}
    INTO o_duplicate, o_state;
    IF NOT FOUND THEN o_duplicate := true; END IF;
    -- An inbound message proves the link, unless the Page is known linked (ingestWith's rule).
    ${q.setPage('p_page', 'true', 'p_at', 'NULL', 'NULL', ' AND NOT p.linked')};
  ELSIF p_kind = 's' THEN
    IF p_effect = 'c' THEN
      ${q.markClosed('p_key', 'p_at', 'p_reason', 'p_live_after')};
      o_applied := true;
    ELSIF p_effect = 'u' OR (p_effect = 'U' AND EXISTS (SELECT 1 FROM ${n.pages} WHERE page_id = p_page AND linked)) THEN
      ${q.setPage('p_page', 'false', 'p_at', 'p_code', 'p_detail')};
      o_applied := true;
    END IF;
    ${q.claim('p_status_id', 'p_status_until', 'p_now')};
    o_duplicate := NOT FOUND;
  END IF;
  IF p_lease IS NOT NULL THEN
    ${q.lease('p_lease', 'p_now', 'p_lease_until', 'p_lease_expires', 'p_holder')}
    INTO o_lease_state, o_attempt, o_lease_until, o_acquired;
  END IF;
  RETURN NEXT;
END
$fn$;
`;
}

/** The statements of one store, named after a hash of their text (pg prepares per name). */
function statements(n: Names, synchronousCommit: boolean, prepared: boolean) {
  const q = sqlOf(n);
  const call = `${n.ingest}(${Array.from({ length: 20 }, (_, i) => `$${i + 1}`).join(', ')})`;
  const shared = sqlStatements('postgres', n.table);
  const texts = {
    get: shared.get,
    recordAdReferral: shared.recordAdReferral,
    setTagAvailability: shared.setTagAvailability,
    getTagAvailability: shared.getTagAvailability,
    recordInbound: q.recordInbound('$1::text', '$2::bigint', '$3::text', '$4::bigint', '$5::bigint', '$6::bigint'),
    recordOutbound: shared.recordOutbound,
    markClosed: shared.markClosed,
    getPage: shared.getPage,
    readForSend: `SELECT p.linked, p.changed_at, p.error_code, p.error_detail,
  (SELECT ${q.encoded('')} FROM ${n.conversations} WHERE key = $2::text AND last_inbound_at > $3::bigint),
  (SELECT ad_referral_at FROM ${n.conversations} WHERE key = $2::text AND last_inbound_at > $3::bigint)
FROM (SELECT 1) AS one LEFT JOIN ${n.pages} p ON p.page_id = $1::text`,
    setPageLinked: shared.setPageLinked,
    claim: shared.claim,
    lease: q.lease('$1::text', '$2::bigint', '$3::bigint', '$4::bigint', '$5::text'),
    settleOk: `INSERT INTO ${n.deliveries} AS d (id, state, lease_until, attempt, expires_at, holder)
VALUES ($1::text, 'd', 0, $2::integer, $3::bigint, '')
ON CONFLICT (id) DO UPDATE SET state = 'd', expires_at = GREATEST(d.expires_at, EXCLUDED.expires_at)`,
    settleFailed: `UPDATE ${n.deliveries} SET state = 'f' WHERE id = $1::text AND state = 'l' AND attempt = $2::integer`,
    // set_config(…, true) lasts until the end of this statement's implicit transaction, so
    // only the webhook's own commit skips the WAL flush wait, still in one round trip.
    ingest: synchronousCommit
      ? `SELECT * FROM ${call}`
      : `SELECT t.* FROM ${call} t CROSS JOIN set_config('synchronous_commit', 'off', true) c`,
    takeToken: shared.takeToken,
    listByLastInbound: shared.listByLastInbound,
    listPageByLastInbound: shared.listPageByLastInbound,
    delete: `WITH gone AS (${q.deleteMessages('$1::text')})
${q.deleteConversation('$1::text')}`,
    prune: `WITH c AS (${q.pruneConversations('$2::bigint')} RETURNING 1),
m AS (${q.pruneMessages('$1::bigint')} RETURNING 1),
k AS (${q.pruneClaims('$1::bigint')} RETURNING 1),
d AS (${q.pruneDeliveries('$1::bigint')} RETURNING 1),
t AS (${q.pruneTokens('$2::bigint')} RETURNING 1)
SELECT (SELECT count(*) FROM c) AS conversations, (SELECT count(*) FROM m) AS messages,
  (SELECT count(*) FROM k) + (SELECT count(*) FROM d) AS claims, (SELECT count(*) FROM t) AS tokens`,
  };
  type Op = keyof typeof texts;
  // `name` undefined: an unnamed statement, parsed on every call (preparedStatements: false).
  const named = {} as Record<Op, { name: string | undefined; text: string }>;
  for (const op of Object.keys(texts) as Op[]) {
    const text = texts[op];
    const name = prepared ? `vm_${op}_${createHash('sha1').update(text).digest('hex').slice(0, 12)}` : undefined;
    named[op] = { name, text };
  }
  return named;
}

type LeaseRow = [string, number, string, boolean];

/** A lease row (state, attempt, lease end, taken by this call) as a {@link DeliveryLease}. */
function leaseOf(row: LeaseRow | undefined, at: number): DeliveryLease {
  if (row === undefined) throw new Error('lease returned no row');
  const attempt = Number(row[1]);
  if (bool(row[3])) return { state: 'acquired', attempt, retryAfterMs: 0 };
  if (row[0] === 'd') return { state: 'done', attempt, retryAfterMs: 0 };
  return { state: 'held', attempt, retryAfterMs: Math.max(0, toMs(row[2], 'lease_until') - at) };
}

/**
 * A boolean column as pg hands it: `true`/`false`, or PostgreSQL's text `t`/`f` from a pool whose
 * `types` keep every value as text (a truthy "f" would read an unlinked Page as linked).
 */
const bool = (value: boolean | string | null | undefined): boolean => value === true || value === 't';

/** Adds the `ad_referral_at` column (read next to the encoded conversation) to a decoded state. */
function withAdReferral(state: ConversationState, adReferralAt: string | null): ConversationState {
  if (adReferralAt !== null) state.adReferralAt = toMs(adReferralAt, 'ad_referral_at');
  return state;
}

/** PostgreSQL's codes for a relation, a column and a function that do not exist. */
const MISSING_SCHEMA_CODES: ReadonlySet<unknown> = new Set(['42P01', '42703', '42883']);
/** A named prepared statement that does not exist, or already exists, on the connection. */
const PREPARED_STATEMENT_CODES: ReadonlySet<unknown> = new Set(['26000', '42P05']);

/**
 * The setup mistakes whose PostgreSQL message does not say what to do. A schema missing or
 * incomplete (never created, another `schema`, or created by an older version): the message
 * names an internal relation, or a function of twenty `unknown` arguments. Named prepared
 * statements behind a transaction pooler: the message names an internal statement. A role
 * without the privileges the store needs. Each gets an error that says what to run, pass or
 * grant; other errors pass through unchanged.
 */
function explainSetupError(error: unknown, label: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (PREPARED_STATEMENT_CODES.has(code)) {
    return new Error(
      `postgresStore ${label}: the connection lost or repeated one of the store's prepared statements (PostgreSQL error ${code}, kept as the cause). ` +
        'Behind a pooler in transaction mode (PgBouncer before 1.21 or without max_prepared_statements) pass postgresStore({ preparedStatements: false })',
      { cause: error },
    );
  }
  if (code === '42501') {
    return new Error(
      `postgresStore ${label}: permission denied (PostgreSQL error 42501, kept as the cause). ` +
        "The store's role needs SELECT, INSERT, UPDATE and DELETE on its tables and EXECUTE on its ingest function; " +
        'createTables() also needs CREATE on the schema: a role without it can skip createTables() once the owner ran the migration that postgresSchemaSql() prints',
      { cause: error },
    );
  }
  if (!MISSING_SCHEMA_CODES.has(code)) return error;
  return new Error(
    `postgresStore ${label}: its tables, a column or its ingest function do not exist (PostgreSQL error ${code}, kept as the cause). ` +
      'Run store.createTables() once, or the migration that postgresSchemaSql() prints (docs/stores.md, "Migration")',
    { cause: error },
  );
}

const POSTGRES_OPTIONS: Readonly<Record<keyof PostgresStoreOptions, true>> = {
  pool: true,
  table: true,
  schema: true,
  windowIndex: true,
  ttlMs: true,
  dedupeTtlMs: true,
  now: true,
  synchronousCommit: true,
  preparedStatements: true,
};

/**
 * A {@link SessionStore} on PostgreSQL through `pg`.
 *
 * @example
 * ```ts
 * import pg from 'pg'
 * import { postgresStore } from 'vonage-messenger/postgres'
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 2000, query_timeout: 2000 })
 * pool.on('error', (err) => console.error('idle pg client failed', err))
 * const store = postgresStore({ pool })
 * await store.createTables()
 * ```
 */
export function postgresStore(options: PostgresStoreOptions): PostgresStore {
  checkStoreOptions(options, 'postgresStore', POSTGRES_OPTIONS, 'postgresStore({ pool: new pg.Pool(config) })');
  const { pool } = options;
  if (pool === undefined || pool === null || typeof pool.query !== 'function') {
    throw badOption(
      'postgresStore needs a pg Pool: postgresStore({ pool: new pg.Pool(config) })',
      'pool',
      'must be a pg Pool',
    );
  }
  // A pg Client has query() too, but createTables() needs a connection of its own from connect().
  if ('connectionParameters' in pool && !('totalCount' in pool)) {
    throw badOption(
      'postgresStore needs a pg Pool, not a pg Client: postgresStore({ pool: new pg.Pool(config) })',
      'pool',
      'must be a pg Pool, not a Client',
    );
  }
  const n = names(options);
  const { ttlMs, dedupeTtlMs, now } = storeTimes(options);
  const windowIndex = windowIndexOption(options, 'postgresStore');
  const { synchronousCommit } = options;
  if (synchronousCommit !== undefined && typeof synchronousCommit !== 'boolean') {
    throw badOption('postgresStore synchronousCommit must be true or false', 'synchronousCommit', 'must be a boolean');
  }
  const { preparedStatements } = options;
  if (preparedStatements !== undefined && typeof preparedStatements !== 'boolean') {
    throw badOption(
      'postgresStore preparedStatements must be true or false',
      'preparedStatements',
      'must be a boolean',
    );
  }
  const sql = statements(n, synchronousCommit !== false, preparedStatements !== false);

  const explained = (error: unknown): never => {
    throw explainSetupError(error, n.label);
  };
  const query = <R extends QueryResultRow>(op: keyof typeof sql, values: unknown[]) =>
    pool.query<R>({ name: sql[op].name, text: sql[op].text, values }).catch(explained);
  // Rows as arrays: the hot reads return one or two columns, no per-row object to build.
  const queryArray = <R extends unknown[]>(op: keyof typeof sql, values: unknown[]) =>
    pool.query<R>({ name: sql[op].name, text: sql[op].text, values, rowMode: 'array' }).catch(explained);

  const store: PostgresStore = {
    async get(key) {
      const { rows } = await queryArray<[string, string | null]>('get', [key, now() - ttlMs]);
      const row = rows[0];
      if (row === undefined) return null;
      return withAdReferral(decodeConversation(row[0]), row[1]);
    },

    async recordAdReferral(key, at) {
      await query('recordAdReferral', [key, at, now() - ttlMs]);
    },

    async setTagAvailability(pageId, tag, available, at, details) {
      await query('setTagAvailability', [
        pageId,
        tag,
        available,
        at,
        available ? null : (details?.errorCode ?? null),
        available ? null : (details?.errorDetail ?? null),
      ]);
    },

    async getTagAvailability(pageId) {
      const { rows } = await queryArray<[string, boolean, string, string | null, string | null]>('getTagAvailability', [
        pageId,
      ]);
      return tagsFrom(rows.map(([tag, a, t, e, d]) => [tag, { a: bool(a), t, e, d }] as const));
    },

    async recordInbound(key, at, messageUuid) {
      const t = now();
      const { rows } = await queryArray<[boolean, string]>('recordInbound', [
        key,
        at,
        messageUuid,
        t,
        t + dedupeTtlMs,
        t - ttlMs,
      ]);
      const row = rows[0];
      // No row: a duplicate of a message whose conversation has expired; report the message.
      if (row === undefined) return { duplicate: true, state: { lastInboundAt: at, lastInboundUuid: messageUuid } };
      return { duplicate: bool(row[0]), state: decodeConversation(row[1]) };
    },

    async recordOutbound(key, at) {
      await query('recordOutbound', [key, at, now() - ttlMs]);
    },

    async markClosed(key, at, reason) {
      await query('markClosed', [key, at, reason, now() - ttlMs]);
    },

    async getPage(pageId) {
      const { rows } = await query<{
        linked: boolean;
        changed_at: string;
        error_code: string | null;
        error_detail: string | null;
      }>('getPage', [pageId]);
      const row = rows[0];
      if (row === undefined) return null;
      return pageFrom(
        bool(row.linked),
        toMs(row.changed_at, 'changed_at'),
        row.error_code ?? undefined,
        row.error_detail ?? undefined,
      );
    },

    async readForSend(pageId, key) {
      const { rows } = await queryArray<
        [boolean | null, string | null, string | null, string | null, string | null, string | null]
      >('readForSend', [pageId, key, now() - ttlMs]);
      const row = rows[0];
      if (row === undefined) throw new Error('readForSend returned no row');
      return {
        page:
          row[0] === null || row[1] === null
            ? null
            : pageFrom(bool(row[0]), toMs(row[1], 'changed_at'), row[2] ?? undefined, row[3] ?? undefined),
        conversation: row[4] === null ? null : withAdReferral(decodeConversation(row[4]), row[5]),
      };
    },

    async setPageLinked(pageId, linked, at, details) {
      await query('setPageLinked', [
        pageId,
        linked,
        at,
        linked ? null : (details?.errorCode ?? null),
        linked ? null : (details?.errorDetail ?? null),
      ]);
    },

    async claim(id, ttl) {
      const t = now();
      const { rowCount } = await query('claim', [id, t + ttl, t]);
      return rowCount === 1;
    },

    async lease(id, ttl, at) {
      const holder = randomUUID();
      const { rows } = await queryArray<LeaseRow>('lease', [id, at, at + ttl, at + Math.max(ttl, dedupeTtlMs), holder]);
      return leaseOf(rows[0], at);
    },

    async settle(id, attempt, ok, at) {
      if (ok) await query('settleOk', [id, attempt, at + dedupeTtlMs]);
      else await query('settleFailed', [id, attempt]);
    },

    async ingest(input) {
      const { now: at0, replay, message, status, lease } = input;
      const event = message ?? status;
      const effect = status?.effect;
      const t = now();
      const details = effect?.kind === 'unlink' ? effect.details : undefined;
      const { rows } = await queryArray<
        [boolean, boolean, string | null, boolean, string | null, number | null, string | null, boolean]
      >('ingest', [
        at0,
        replay.id,
        t + replay.ttlMs,
        message !== undefined ? 'm' : status !== undefined ? 's' : '-',
        event?.key ?? null,
        event?.pageId ?? null,
        event?.at ?? null,
        message?.messageUuid ?? null,
        t - ttlMs,
        t + dedupeTtlMs,
        effect === undefined ? '' : effect.kind === 'close' ? 'c' : effect.ifLinked ? 'U' : 'u',
        effect?.kind === 'close' ? effect.reason : null,
        details?.errorCode ?? null,
        details?.errorDetail ?? null,
        status?.dedupe.id ?? null,
        status === undefined ? null : t + status.dedupe.ttlMs,
        lease?.id ?? null,
        lease === undefined ? null : at0 + lease.ttlMs,
        lease === undefined ? null : at0 + Math.max(lease.ttlMs, dedupeTtlMs),
        lease === undefined ? null : randomUUID(),
      ]);
      const row = rows[0];
      if (row === undefined) throw new Error('ingest returned no row');
      if (bool(row[0])) return { replayed: true, duplicate: false, applied: false };
      const result: IngestResult = { replayed: false, duplicate: bool(row[1]), applied: bool(row[3]) };
      if (message !== undefined) {
        result.state =
          row[2] === null
            ? { lastInboundAt: message.at, lastInboundUuid: message.messageUuid }
            : decodeConversation(row[2]);
      }
      if (lease !== undefined) result.lease = leaseOf([row[4] ?? 'l', row[5] ?? 0, row[6] ?? '0', row[7]], at0);
      return result;
    },

    async takeToken(bucket, ratePerSecond, burst, at) {
      const { rows } = await query<{ allowed: boolean; tokens: number }>('takeToken', [
        bucket,
        ratePerSecond,
        burst,
        at,
      ]);
      const row = rows[0];
      if (row === undefined) throw new Error('takeToken returned no row');
      return bool(row.allowed)
        ? { allowed: true, retryAfterMs: 0 }
        : { allowed: false, retryAfterMs: retryAfter(Number(row.tokens), ratePerSecond) };
    },

    async delete(key) {
      await query('delete', [key]);
    },

    // The window index: the conversations table's own indexes (windowIndexSql), kept by
    // PostgreSQL in every statement that writes a row, and trimmed by prune.
    async listByLastInbound(range) {
      const from = Math.max(range.from, now() - ttlMs);
      const after = range.after ?? { at: from, key: '' };
      const values: unknown[] = [from, range.to, after.at, after.key, range.limit];
      const { rows } =
        range.pageId === undefined
          ? await queryArray<[string, string, string | null]>('listByLastInbound', values)
          : await queryArray<[string, string, string | null]>('listPageByLastInbound', [...values, range.pageId]);
      return rows.map(([key, v, ad]) => ({
        key: key as ConversationKey,
        state: withAdReferral(decodeConversation(v), ad),
      }));
    },

    async close() {
      // The pool belongs to the caller: it may serve other code, so it stays open.
    },

    async createTables() {
      const client = await pool.connect();
      // A connection lost between the statements is an 'error' event on the client: without a
      // listener it would crash the process (the pending query rejects with it anyway).
      const ignore = () => {};
      client.on('error', ignore);
      try {
        await client.query('BEGIN');
        // CREATE ... IF NOT EXISTS can still collide when two processes race it at startup.
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`vonage-messenger:${n.label}`]);
        await client.query(postgresSchemaSql(options));
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw (error as { code?: unknown } | null)?.code === '42501' ? explainSetupError(error, n.label) : error;
      } finally {
        client.off('error', ignore);
        client.release();
      }
    },

    async prune(pruneOptions = {}) {
      const olderThanMs = pruneOptions.olderThanMs ?? ttlMs;
      assertDuration(olderThanMs, 'olderThanMs');
      const t = now();
      const { rows } = await query<Record<keyof PruneResult, string>>('prune', [t, t - olderThanMs]);
      const row = rows[0];
      return {
        conversations: Number(row?.conversations ?? 0),
        messages: Number(row?.messages ?? 0),
        claims: Number(row?.claims ?? 0),
        tokens: Number(row?.tokens ?? 0),
      };
    },
  };
  if (!windowIndex) delete store.listByLastInbound;
  return checkedStore(store);
}
