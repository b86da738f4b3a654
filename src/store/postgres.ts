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
 * Times are `bigint` epoch milliseconds.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { Pool, QueryResultRow } from 'pg';
import { ValidationError } from '../errors.js';
import { DEFAULT_DEDUPE_TTL_MS, DEFAULT_STORE_TTL_MS } from './memory.js';
import {
  assertBucket,
  assertDuration,
  assertReason,
  assertText,
  assertTime,
  decodeConversation,
  pageFrom,
  retryAfter,
  tagsFrom,
  toMs,
} from './shared.js';
import type { FullSessionStore, SessionStore } from './types.js';

/**
 * Where the store's tables live.
 *
 * @example
 * ```ts
 * const where: PostgresTableOptions = { schema: 'messaging', table: 'shop_messenger' }
 * const sql = postgresSchemaSql(where) // creates messaging."shop_messenger_conversations", …
 * ```
 */
export interface PostgresTableOptions {
  /**
   * Name prefix of the tables: `<table>_conversations`, `<table>_messages`, … Lowercase
   * letters, digits and `_`, at most 40 characters. Default `"vonage_messenger"`.
   */
  table?: string;
  /** Schema of the tables. Same character rules, at most 63 characters. Default `"public"`. */
  schema?: string;
}

/**
 * Options of {@link postgresStore}.
 *
 * @example
 * ```ts
 * const options: PostgresStoreOptions = { pool, schema: 'messaging', ttlMs: 8 * 24 * 60 * 60 * 1000 }
 * const store = postgresStore(options)
 * ```
 */
export interface PostgresStoreOptions extends PostgresTableOptions {
  /**
   * A `pg` Pool. The store never ends it. For fail-fast behaviour when PostgreSQL is down, set
   * `connectionTimeoutMillis` and `query_timeout`, and listen to `pool.on('error')`.
   */
  pool: Pool;
  /** A conversation is forgotten this long after the user's last message. Default 8 days. */
  ttlMs?: number;
  /** How long a `message_uuid` is remembered as seen. Default 48 h (Vonage retries for 24 h). */
  dedupeTtlMs?: number;
  /** The clock used for expiry. Default `Date.now`. */
  now?: () => number;
}

/**
 * Options of {@link PostgresStore.prune}.
 *
 * @example
 * ```ts
 * const options: PruneOptions = { olderThanMs: 30 * 24 * 60 * 60 * 1000 } // keep 30 days
 * await store.prune(options)
 * ```
 */
export interface PruneOptions {
  /** Delete conversations (and idle token buckets) older than this. Default: the store's `ttlMs`. */
  olderThanMs?: number;
}

/**
 * Rows deleted by a prune.
 *
 * @example
 * ```ts
 * setInterval(async () => {
 *   const { conversations, messages }: PruneResult = await store.prune()
 *   console.log(`pruned ${conversations} conversations, ${messages} message ids`)
 * }, 60 * 60 * 1000)
 * ```
 */
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

/**
 * A PostgreSQL-backed {@link SessionStore} with its maintenance operations.
 *
 * @example
 * ```ts
 * const store: PostgresStore = postgresStore({ pool })
 * await store.createTables()
 * const messenger = createMessenger({ applicationId, privateKey, store })
 * ```
 */
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
  conversations: string;
  messages: string;
  pages: string;
  claims: string;
  tokens: string;
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
    conversations: t('conversations'),
    messages: t('messages'),
    pages: t('pages'),
    claims: t('claims'),
    tokens: t('tokens'),
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
CREATE TABLE IF NOT EXISTS ${n.messages} (
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
`;
}

/** The statements of one store, named after a hash of their text (pg prepares per name). */
function statements(n: Names) {
  // One text column in the format of decodeConversation: one value to parse per row.
  const encoded = (c: string) =>
    `${c}last_inbound_at || '|' || coalesce(${c}last_outbound_at::text, '') || '|' || coalesce(${c}closed_at::text, '') || '|' || coalesce(${c}closed_reason, '') || '|' || ${c}last_inbound_uuid`;
  // $6 = "live after": a row with last_inbound_at at or before it has expired and counts as absent.
  const expired = 'c.last_inbound_at <= $6::bigint';
  const texts = {
    get: `SELECT ${encoded('')}, ad_referral_at FROM ${n.conversations} WHERE key = $1::text AND last_inbound_at > $2::bigint`,
    recordAdReferral: `UPDATE ${n.conversations} SET ad_referral_at = $2::bigint
WHERE key = $1::text AND last_inbound_at > $3::bigint AND (ad_referral_at IS NULL OR ad_referral_at < $2::bigint)`,
    setTagAvailability: `INSERT INTO ${n.pageTags} AS g (page_id, tag, available, changed_at, error_code, error_detail)
VALUES ($1::text, $2::text, $3::boolean, $4::bigint, $5::text, $6::text)
ON CONFLICT (page_id, tag) DO UPDATE SET available = EXCLUDED.available, changed_at = EXCLUDED.changed_at,
  error_code = EXCLUDED.error_code, error_detail = EXCLUDED.error_detail
WHERE g.changed_at <= EXCLUDED.changed_at`,
    getTagAvailability: `SELECT tag, available, changed_at, error_code, error_detail FROM ${n.pageTags} WHERE page_id = $1::text`,
    recordInbound: `WITH seen AS (
  INSERT INTO ${n.messages} AS m (key, uuid, expires_at) VALUES ($1::text, $3::text, $5::bigint)
  ON CONFLICT (key, uuid) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE m.expires_at <= $4::bigint
  RETURNING 1
), up AS (
  INSERT INTO ${n.conversations} AS c (key, last_inbound_at, last_inbound_uuid)
  SELECT $1::text, $2::bigint, $3::text FROM seen
  ON CONFLICT (key) DO UPDATE SET
    last_inbound_at = CASE WHEN ${expired} THEN EXCLUDED.last_inbound_at
      ELSE GREATEST(c.last_inbound_at, EXCLUDED.last_inbound_at) END,
    last_inbound_uuid = CASE WHEN ${expired} OR EXCLUDED.last_inbound_at > c.last_inbound_at
      THEN EXCLUDED.last_inbound_uuid ELSE c.last_inbound_uuid END,
    last_outbound_at = CASE WHEN ${expired} THEN NULL ELSE c.last_outbound_at END,
    closed_at = CASE WHEN ${expired} THEN NULL ELSE c.closed_at END,
    closed_reason = CASE WHEN ${expired} THEN NULL ELSE c.closed_reason END
  RETURNING false AS duplicate, ${encoded('c.')} AS state
)
SELECT duplicate, state FROM up
UNION ALL
SELECT true, ${encoded('c.')} FROM ${n.conversations} c
WHERE c.key = $1::text AND c.last_inbound_at > $6::bigint AND NOT EXISTS (SELECT 1 FROM seen)`,
    recordOutbound: `UPDATE ${n.conversations} SET last_outbound_at = $2::bigint
WHERE key = $1::text AND last_inbound_at > $3::bigint AND (last_outbound_at IS NULL OR last_outbound_at < $2::bigint)`,
    markClosed: `UPDATE ${n.conversations} SET closed_at = $2::bigint, closed_reason = $3::text
WHERE key = $1::text AND last_inbound_at > $4::bigint AND (closed_at IS NULL OR closed_at <= $2::bigint)`,
    getPage: `SELECT linked, changed_at, error_code, error_detail FROM ${n.pages} WHERE page_id = $1::text`,
    setPageLinked: `INSERT INTO ${n.pages} AS p (page_id, linked, changed_at, error_code, error_detail)
VALUES ($1::text, $2::boolean, $3::bigint, $4::text, $5::text)
ON CONFLICT (page_id) DO UPDATE SET linked = EXCLUDED.linked, changed_at = EXCLUDED.changed_at,
  error_code = EXCLUDED.error_code, error_detail = EXCLUDED.error_detail
WHERE p.changed_at <= EXCLUDED.changed_at`,
    claim: `INSERT INTO ${n.claims} AS k (id, expires_at) VALUES ($1::text, $2::bigint)
ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE k.expires_at <= $3::bigint
RETURNING 1`,
    // R = the refilled token count: LEAST(burst, tokens + elapsed * rate); a clock behind the
    // stored one adds nothing.
    takeToken: (() => {
      const r = 'LEAST($3::float8, b.tokens + GREATEST($4::bigint - b.updated_at, 0) * $2::float8 / 1000.0)';
      return `INSERT INTO ${n.tokens} AS b (bucket, tokens, updated_at, allowed)
VALUES ($1::text, $3::float8 - 1, $4::bigint, true)
ON CONFLICT (bucket) DO UPDATE SET
  tokens = CASE WHEN ${r} >= 1 THEN ${r} - 1 ELSE ${r} END,
  allowed = ${r} >= 1,
  updated_at = GREATEST(b.updated_at, $4::bigint)
RETURNING allowed, tokens`;
    })(),
    delete: `WITH gone AS (DELETE FROM ${n.messages} WHERE key = $1::text)
DELETE FROM ${n.conversations} WHERE key = $1::text`,
    prune: `WITH c AS (DELETE FROM ${n.conversations} WHERE last_inbound_at <= $2::bigint RETURNING 1),
m AS (DELETE FROM ${n.messages} WHERE expires_at <= $1::bigint RETURNING 1),
k AS (DELETE FROM ${n.claims} WHERE expires_at <= $1::bigint RETURNING 1),
t AS (DELETE FROM ${n.tokens} WHERE updated_at <= $2::bigint RETURNING 1)
SELECT (SELECT count(*) FROM c) AS conversations, (SELECT count(*) FROM m) AS messages,
  (SELECT count(*) FROM k) AS claims, (SELECT count(*) FROM t) AS tokens`,
  };
  type Op = keyof typeof texts;
  const named = {} as Record<Op, { name: string; text: string }>;
  for (const op of Object.keys(texts) as Op[]) {
    const text = texts[op];
    named[op] = { name: `vm_${op}_${createHash('sha1').update(text).digest('hex').slice(0, 12)}`, text };
  }
  return named;
}

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
  const { pool } = options;
  if (pool === undefined || pool === null || typeof pool.query !== 'function') {
    throw new ValidationError('postgresStore needs a pg Pool: postgresStore({ pool: new pg.Pool(config) })', [
      { path: 'pool', message: 'must be a pg Pool' },
    ]);
  }
  const n = names(options);
  const ttlMs = options.ttlMs ?? DEFAULT_STORE_TTL_MS;
  const dedupeTtlMs = options.dedupeTtlMs ?? DEFAULT_DEDUPE_TTL_MS;
  assertDuration(ttlMs, 'ttlMs');
  assertDuration(dedupeTtlMs, 'dedupeTtlMs');
  const now = options.now ?? Date.now;
  const sql = statements(n);

  const query = <R extends QueryResultRow>(op: keyof typeof sql, values: unknown[]) =>
    pool.query<R>({ name: sql[op].name, text: sql[op].text, values });
  // Rows as arrays: the hot reads return one or two columns, no per-row object to build.
  const queryArray = <R extends unknown[]>(op: keyof typeof sql, values: unknown[]) =>
    pool.query<R>({ name: sql[op].name, text: sql[op].text, values, rowMode: 'array' });

  return {
    async get(key) {
      const { rows } = await queryArray<[string, string | null]>('get', [key, now() - ttlMs]);
      const row = rows[0];
      if (row === undefined) return null;
      const state = decodeConversation(row[0]);
      if (row[1] !== null) state.adReferralAt = toMs(row[1], 'ad_referral_at');
      return state;
    },

    async recordAdReferral(key, at) {
      assertTime(at, 'at');
      await query('recordAdReferral', [key, at, now() - ttlMs]);
    },

    async setTagAvailability(pageId, tag, available, at, details) {
      assertText(tag, 'tag');
      assertTime(at, 'at');
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
      return tagsFrom(rows.map(([tag, a, t, e, d]) => [tag, { a, t, e, d }] as const));
    },

    async recordInbound(key, at, messageUuid) {
      assertTime(at, 'at');
      assertText(messageUuid, 'messageUuid');
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
      return { duplicate: row[0], state: decodeConversation(row[1]) };
    },

    async recordOutbound(key, at) {
      assertTime(at, 'at');
      await query('recordOutbound', [key, at, now() - ttlMs]);
    },

    async markClosed(key, at, reason) {
      assertTime(at, 'at');
      assertReason(reason);
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
        row.linked,
        toMs(row.changed_at, 'changed_at'),
        row.error_code ?? undefined,
        row.error_detail ?? undefined,
      );
    },

    async setPageLinked(pageId, linked, at, details) {
      assertTime(at, 'at');
      await query('setPageLinked', [
        pageId,
        linked,
        at,
        linked ? null : (details?.errorCode ?? null),
        linked ? null : (details?.errorDetail ?? null),
      ]);
    },

    async claim(id, ttl) {
      assertText(id, 'id');
      assertDuration(ttl, 'ttlMs');
      const t = now();
      const { rowCount } = await query('claim', [id, t + ttl, t]);
      return rowCount === 1;
    },

    async takeToken(bucket, ratePerSecond, burst, at) {
      assertBucket(bucket, ratePerSecond, burst, at);
      const { rows } = await query<{ allowed: boolean; tokens: number }>('takeToken', [
        bucket,
        ratePerSecond,
        burst,
        at,
      ]);
      const row = rows[0];
      if (row === undefined) throw new Error('takeToken returned no row');
      return row.allowed
        ? { allowed: true, retryAfterMs: 0 }
        : { allowed: false, retryAfterMs: retryAfter(Number(row.tokens), ratePerSecond) };
    },

    async delete(key) {
      await query('delete', [key]);
    },

    async close() {
      // The pool belongs to the caller: it may serve other code, so it stays open.
    },

    async createTables() {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        // CREATE ... IF NOT EXISTS can still collide when two processes race it at startup.
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`vonage-messenger:${n.label}`]);
        await client.query(postgresSchemaSql(options));
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
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
}
