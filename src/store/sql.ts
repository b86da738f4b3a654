/**
 * The SQL that the PostgreSQL, SQLite and D1 stores share: each rule (dedupe a message id,
 * upsert a conversation, close it, link a Page, refill a token bucket, ...) is written once
 * here, and a dialect says how it is spelled.
 *
 * Dialects: `postgres` (`$1::type` placeholders, `GREATEST`/`LEAST`, booleans), `sqlite`
 * (better-sqlite3's named `@name` placeholders, `max`/`min`, 0/1 integers) and `d1` (SQLite
 * with D1's numbered `?1` placeholders; D1 has no interactive transaction, so its conversation
 * upsert guards itself with `changes()`, and its tables have no ad-referral column).
 *
 * @module
 */

/** How a store spells its SQL. */
export type SqlDialect = 'postgres' | 'sqlite' | 'd1';

/** A value's SQL type, for PostgreSQL's placeholder casts. */
type SqlType = 'text' | 'bigint' | 'boolean' | 'float8';

/** `name:type`: one statement parameter, in the order the adapter passes values. */
type Param = `${string}:${SqlType}`;

/** The quoted, possibly schema-qualified name of the table with this suffix (`conversations`, ...). */
export type TableName = (suffix: string) => string;

interface Spelling {
  param(index: number, name: string, type: SqlType): string;
  greatest: string;
  least: string;
  /** An integer column read as text (for the `|`-joined conversation value). */
  text(column: string): string;
  true: string;
  /** Whether the conversations table has `ad_referral_at` (D1's does not). */
  adReferral: boolean;
  /** The Page ID of a conversation row (the key up to its `:`), as the window index spells it. */
  pageOf: string;
  /**
   * A parameter kept out of the query planner's sight. SQLite re-prepares a statement whenever
   * a new value is bound to a parameter its planner read: a LIMIT (SQLite 3.47+), a value
   * compared with an indexed column (with STAT4, as better-sqlite3 builds it, once ANALYZE
   * ran). Measured on the listing: 15-50 µs a call instead of 2, paid once per Page when every
   * Page is listed. The plan does not depend on these values (the window index is the only
   * one that fits), and unary `+` is a no-op on the value.
   */
  unplanned: (value: string) => string;
}

const SPELLINGS: Record<SqlDialect, Spelling> = {
  postgres: {
    param: (i, _name, type) => `$${i}::${type}`,
    greatest: 'GREATEST',
    least: 'LEAST',
    text: (column) => `${column}::text`,
    true: 'true',
    adReferral: true,
    pageOf: `split_part(key, ':', 1)`,
    unplanned: (value) => value,
  },
  sqlite: {
    param: (_i, name) => `@${name}`,
    greatest: 'max',
    least: 'min',
    text: (column) => column,
    true: '1',
    adReferral: true,
    pageOf: `substr(key, 1, instr(key, ':') - 1)`,
    unplanned: (value) => `+${value}`,
  },
  d1: {
    param: (i) => `?${i}`,
    greatest: 'max',
    least: 'min',
    text: (column) => column,
    true: '1',
    adReferral: false,
    pageOf: `substr(key, 1, instr(key, ':') - 1)`,
    // D1's SQLite build and its per-query cost are not ours to measure; its SQL stays plain.
    unplanned: (value) => value,
  },
};

/**
 * A row listed by `listByLastInbound`: not closed by the platform since the user's latest
 * message (the listByLastInbound contract, types.ts). The Page index's WHERE and the query's use this same text, so
 * PostgreSQL and SQLite can prove the partial index applies.
 */
const OPEN = '(closed_at IS NULL OR closed_at < last_inbound_at)';

/**
 * The window index behind `listByLastInbound`: `page` holds one Page's open conversations by
 * `lastInboundAt`, `(pageOf(key), last_inbound_at) WHERE open`. `time`, `(last_inbound_at)`,
 * serves a listing of every Page in one statement (skipping the rare closed rows): D1 creates
 * it, since each of its reads is a network round trip, and PostgreSQL's tables always had it,
 * for prune. SQLite creates `page` alone and lists every Page by merging per-Page reads
 * (`openPages`, listAcrossPages): a second index on the row's time is one more B-tree leaf to
 * rewrite in every recordInbound (docs/performance-log.md has the measurements). Ties on the time
 * are ordered by key from the rows (an incremental sort): leaving the key out keeps each entry
 * small. `index(suffix)` names an index in the dialect's scope.
 */
export function windowIndexSql(
  dialect: SqlDialect,
  t: TableName,
  index: (suffix: string) => string,
): { time: string; page: string } {
  return {
    time: `CREATE INDEX IF NOT EXISTS ${index('conv_at_idx')} ON ${t('conversations')} (last_inbound_at)`,
    page: `CREATE INDEX IF NOT EXISTS ${index('conv_page_open_idx')} ON ${t('conversations')} (${SPELLINGS[dialect].pageOf}, last_inbound_at) WHERE ${OPEN}`,
  };
}

/**
 * The shared rules over caller-chosen placeholders (`$1::text` in a statement, `p_key` inside
 * PostgreSQL's ingest function): each takes the SQL expressions for its inputs.
 */
export function sqlRules(dialect: SqlDialect, t: TableName) {
  const d = SPELLINGS[dialect];
  // One text value in the format of decodeConversation: one value to parse per row.
  const encoded = (c: string) =>
    `${c}last_inbound_at || '|' || coalesce(${d.text(`${c}last_outbound_at`)}, '') || '|' || coalesce(${d.text(`${c}closed_at`)}, '') || '|' || coalesce(${c}closed_reason, '') || '|' || ${c}last_inbound_uuid`;
  return {
    encoded,
    /** The live conversation as `v` (and its ad-referral instant, where the table has one). */
    get: (key: string, liveAfter: string, withAd = d.adReferral) =>
      `SELECT ${encoded('')} AS v${withAd ? ', ad_referral_at' : ''} FROM ${t('conversations')} WHERE key = ${key} AND last_inbound_at > ${liveAfter}`,
    recordAdReferral: (key: string, at: string, liveAfter: string) =>
      `UPDATE ${t('conversations')} SET ad_referral_at = ${at}
WHERE key = ${key} AND last_inbound_at > ${liveAfter} AND (ad_referral_at IS NULL OR ad_referral_at < ${at})`,
    setTagAvailability: (page: string, tag: string, available: string, at: string, code: string, detail: string) =>
      `INSERT INTO ${t('page_tags')} AS g (page_id, tag, available, changed_at, error_code, error_detail)
VALUES (${page}, ${tag}, ${available}, ${at}, ${code}, ${detail})
ON CONFLICT (page_id, tag) DO UPDATE SET available = excluded.available, changed_at = excluded.changed_at,
  error_code = excluded.error_code, error_detail = excluded.error_detail
WHERE g.changed_at <= excluded.changed_at`,
    getTagAvailability: (page: string) =>
      `SELECT tag, available, changed_at, error_code, error_detail FROM ${t('page_tags')} WHERE page_id = ${page}`,
    /** Remembers a message id; returns a row only when it was not already seen. */
    see: (key: string, uuid: string, until: string, now: string) =>
      `INSERT INTO ${t('messages')} AS m (key, uuid, expires_at) VALUES (${key}, ${uuid}, ${until})
ON CONFLICT (key, uuid) DO UPDATE SET expires_at = excluded.expires_at WHERE m.expires_at <= ${now}
RETURNING 1 AS seen`,
    /**
     * The conversation after a new message: `source` is the `VALUES`/`SELECT` of (key, at,
     * uuid). A row at or before liveAfter has expired and restarts as new.
     */
    upsertConversation: (source: string, liveAfter: string, returning: string) => {
      const expired = `c.last_inbound_at <= ${liveAfter}`;
      return `INSERT INTO ${t('conversations')} AS c (key, last_inbound_at, last_inbound_uuid)
${source}
ON CONFLICT (key) DO UPDATE SET
  last_inbound_at = CASE WHEN ${expired} THEN excluded.last_inbound_at
    ELSE ${d.greatest}(c.last_inbound_at, excluded.last_inbound_at) END,
  last_inbound_uuid = CASE WHEN ${expired} OR excluded.last_inbound_at > c.last_inbound_at
    THEN excluded.last_inbound_uuid ELSE c.last_inbound_uuid END,
  last_outbound_at = CASE WHEN ${expired} THEN NULL ELSE c.last_outbound_at END,
  closed_at = CASE WHEN ${expired} THEN NULL ELSE c.closed_at END,
  closed_reason = CASE WHEN ${expired} THEN NULL ELSE c.closed_reason END${
    d.adReferral ? `,\n  ad_referral_at = CASE WHEN ${expired} THEN NULL ELSE c.ad_referral_at END` : ''
  }
RETURNING ${returning}`;
    },
    recordOutbound: (key: string, at: string, liveAfter: string) =>
      `UPDATE ${t('conversations')} SET last_outbound_at = ${at}
WHERE key = ${key} AND last_inbound_at > ${liveAfter} AND (last_outbound_at IS NULL OR last_outbound_at < ${at})`,
    markClosed: (key: string, at: string, reason: string, liveAfter: string) =>
      `UPDATE ${t('conversations')} SET closed_at = ${at}, closed_reason = ${reason}
WHERE key = ${key} AND last_inbound_at > ${liveAfter} AND (closed_at IS NULL OR closed_at <= ${at})`,
    getPage: (page: string) =>
      `SELECT linked, changed_at, error_code, error_detail FROM ${t('pages')} WHERE page_id = ${page}`,
    /** `extra` narrows when a newer-or-equal change still must not replace the row. */
    setPage: (page: string, linked: string, at: string, code: string, detail: string, extra = '') =>
      `INSERT INTO ${t('pages')} AS p (page_id, linked, changed_at, error_code, error_detail)
VALUES (${page}, ${linked}, ${at}, ${code}, ${detail})
ON CONFLICT (page_id) DO UPDATE SET linked = excluded.linked, changed_at = excluded.changed_at,
  error_code = excluded.error_code, error_detail = excluded.error_detail
WHERE p.changed_at <= excluded.changed_at${extra}`,
    /** A one-time claim: a new or expired id is taken (the statement changes a row). */
    claim: (id: string, until: string, now: string) =>
      `INSERT INTO ${t('claims')} AS k (id, expires_at) VALUES (${id}, ${until})
ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at WHERE k.expires_at <= ${now}`,
    takeToken: (bucket: string, rate: string, burst: string, now: string) => {
      // R = the refilled token count: least(burst, tokens + elapsed * rate); a clock behind
      // the stored one adds nothing.
      const r = `${d.least}(${burst}, b.tokens + ${d.greatest}(${now} - b.updated_at, 0) * ${rate} / 1000.0)`;
      return `INSERT INTO ${t('tokens')} AS b (bucket, tokens, updated_at, allowed)
VALUES (${bucket}, ${burst} - 1, ${now}, ${d.true})
ON CONFLICT (bucket) DO UPDATE SET
  tokens = CASE WHEN ${r} >= 1 THEN ${r} - 1 ELSE ${r} END,
  allowed = ${r} >= 1,
  updated_at = ${d.greatest}(b.updated_at, ${now})
RETURNING allowed, tokens`;
    },
    /**
     * Open conversations with from < last_inbound_at <= to, after (afterAt, afterKey), in
     * (last_inbound_at, key) order: key, v (and ad_referral_at where the table has it). With
     * `page`, that Page's only. `afterAt` is `from` when there is no cursor (every row is after
     * it); the redundant `>= afterAt` lets the index scan start at the cursor.
     */
    listByLastInbound: (
      fromValue: string,
      toValue: string,
      afterAtValue: string,
      afterKeyValue: string,
      limitValue: string,
      pageValue: string | undefined,
    ) => {
      const [from, to, afterAt, afterKey, limit] = [fromValue, toValue, afterAtValue, afterKeyValue, limitValue].map(
        d.unplanned,
      );
      const page = pageValue === undefined ? undefined : d.unplanned(pageValue);
      return `SELECT key, ${encoded('')} AS v${d.adReferral ? ', ad_referral_at' : ''} FROM ${t('conversations')}
WHERE ${page === undefined ? '' : `${d.pageOf} = ${page} AND `}last_inbound_at > ${from} AND last_inbound_at <= ${to} AND ${OPEN}
  AND last_inbound_at >= ${afterAt} AND (last_inbound_at > ${afterAt} OR key > ${afterKey})
ORDER BY last_inbound_at, key LIMIT ${limit}`;
    },
    /**
     * The Page IDs that have an open conversation, in order, without reading the rows: a skip
     * scan of the `page` window index, each step one seek to the first entry of the next Page
     * (the smallest Page ID after the previous one). The `OPEN` term lets the planner use the
     * partial index.
     */
    openPages: () => {
      const next = (after: string) =>
        `(SELECT ${d.pageOf} FROM ${t('conversations')} WHERE ${d.pageOf} > ${after} AND ${OPEN} ORDER BY ${d.pageOf} LIMIT 1)`;
      return `WITH RECURSIVE page_ids(id) AS (
  SELECT ${next(`''`)}
  UNION ALL
  SELECT ${next('page_ids.id')} FROM page_ids WHERE page_ids.id IS NOT NULL
)
SELECT id FROM page_ids WHERE id IS NOT NULL`;
    },
    deleteMessages: (key: string) => `DELETE FROM ${t('messages')} WHERE key = ${key}`,
    deleteConversation: (key: string) => `DELETE FROM ${t('conversations')} WHERE key = ${key}`,
    pruneConversations: (before: string) => `DELETE FROM ${t('conversations')} WHERE last_inbound_at <= ${before}`,
    pruneMessages: (now: string) => `DELETE FROM ${t('messages')} WHERE expires_at <= ${now}`,
    pruneClaims: (now: string) => `DELETE FROM ${t('claims')} WHERE expires_at <= ${now}`,
    pruneDeliveries: (now: string) => `DELETE FROM ${t('deliveries')} WHERE expires_at <= ${now}`,
    pruneTokens: (before: string) => `DELETE FROM ${t('tokens')} WHERE updated_at <= ${before}`,
  };
}

/**
 * The placeholders of one statement in the dialect, by name: `params` lists `name:type` in
 * the order the adapter passes values (`$1`/`?1` is the first).
 */
function placeholders<const P extends readonly Param[]>(
  dialect: SqlDialect,
  params: P,
): Record<P[number] extends `${infer N}:${string}` ? N : never, string> {
  const spelling = SPELLINGS[dialect];
  const out: Record<string, string> = {};
  params.forEach((param, i) => {
    const [name, type] = param.split(':') as [string, SqlType];
    out[name] = spelling.param(i + 1, name, type);
  });
  return out as Record<P[number] extends `${infer N}:${string}` ? N : never, string>;
}

/**
 * The single-operation statements of the SQL stores in one dialect. Each comment lists the
 * values in the order a positional dialect (postgres, d1) binds them; `sqlite` binds the same
 * names as an object.
 */
export function sqlStatements(dialect: SqlDialect, t: TableName) {
  const q = sqlRules(dialect, t);
  const p = <const P extends readonly Param[]>(...params: P) => placeholders(dialect, params);
  const get = p('key:text', 'liveAfter:bigint');
  const see = p('key:text', 'uuid:text', 'until:bigint', 'now:bigint');
  const upsert = p('key:text', 'at:bigint', 'uuid:text', 'liveAfter:bigint');
  const keyAt = p('key:text', 'at:bigint', 'liveAfter:bigint');
  const tag = p('page:text', 'tag:text', 'available:boolean', 'at:bigint', 'code:text', 'detail:text');
  const close = p('key:text', 'at:bigint', 'reason:text', 'liveAfter:bigint');
  const page = p('page:text', 'linked:boolean', 'at:bigint', 'code:text', 'detail:text');
  const claim = p('id:text', 'until:bigint', 'now:bigint');
  const take = p('bucket:text', 'rate:float8', 'burst:float8', 'now:bigint');
  const key = p('key:text');
  const list = p('from:bigint', 'to:bigint', 'afterAt:bigint', 'afterKey:text', 'limit:bigint');
  const listPage = p('from:bigint', 'to:bigint', 'afterAt:bigint', 'afterKey:text', 'limit:bigint', 'page:text');
  const now = p('now:bigint');
  const before = p('before:bigint');
  return {
    /** key, liveAfter → v (the conversation), ad_referral_at where the table has it. */
    get: q.get(get.key, get.liveAfter),
    /** key, liveAfter → v only. */
    getEncoded: q.get(get.key, get.liveAfter, false),
    /** key, uuid, until, now → a row when the id is new. */
    see: q.see(see.key, see.uuid, see.until, see.now),
    /**
     * key, at, uuid, liveAfter → v. SQLite runs it after `see` in one transaction; D1 batches
     * it after `see`, and `changes() = 1` holds only when `see` recorded a new id.
     */
    upsertConversation: q.upsertConversation(
      dialect === 'd1'
        ? `SELECT ${upsert.key}, ${upsert.at}, ${upsert.uuid} WHERE changes() = 1`
        : `VALUES (${upsert.key}, ${upsert.at}, ${upsert.uuid})`,
      upsert.liveAfter,
      `${q.encoded('')} AS v`,
    ),
    /** key, at, liveAfter */
    recordAdReferral: q.recordAdReferral(keyAt.key, keyAt.at, keyAt.liveAfter),
    /** page, tag, available, at, code, detail */
    setTagAvailability: q.setTagAvailability(tag.page, tag.tag, tag.available, tag.at, tag.code, tag.detail),
    /** page */
    getTagAvailability: q.getTagAvailability(page.page),
    /** key, at, liveAfter */
    recordOutbound: q.recordOutbound(keyAt.key, keyAt.at, keyAt.liveAfter),
    /** key, at, reason, liveAfter */
    markClosed: q.markClosed(close.key, close.at, close.reason, close.liveAfter),
    /** page */
    getPage: q.getPage(page.page),
    /** page, linked, at, code, detail */
    setPageLinked: q.setPage(page.page, page.linked, page.at, page.code, page.detail),
    /** id, until, now → a row when claimed. */
    claim: `${q.claim(claim.id, claim.until, claim.now)}\nRETURNING 1 AS claimed`,
    /** bucket, rate, burst, now → allowed, tokens */
    takeToken: q.takeToken(take.bucket, take.rate, take.burst, take.now),
    /** from, to, afterAt, afterKey, limit → key, v (, ad_referral_at) */
    listByLastInbound: q.listByLastInbound(list.from, list.to, list.afterAt, list.afterKey, list.limit, undefined),
    /** from, to, afterAt, afterKey, limit, page → key, v (, ad_referral_at) */
    listPageByLastInbound: q.listByLastInbound(
      listPage.from,
      listPage.to,
      listPage.afterAt,
      listPage.afterKey,
      listPage.limit,
      listPage.page,
    ),
    /** → id: the Page IDs with an open conversation (a skip scan of the Page window index). */
    openPages: q.openPages(),
    /** key */
    deleteMessages: q.deleteMessages(key.key),
    /** key */
    deleteConversation: q.deleteConversation(key.key),
    /** before */
    pruneConversations: q.pruneConversations(before.before),
    /** now */
    pruneMessages: q.pruneMessages(now.now),
    /** now */
    pruneClaims: q.pruneClaims(now.now),
    /** now */
    pruneDeliveries: q.pruneDeliveries(now.now),
    /** before */
    pruneTokens: q.pruneTokens(before.before),
  };
}
