/**
 * What the store adapters share: the argument checks that checkedStore runs before any I/O
 * (so bad input changes no stored state), option checks, decoding of stored values, and lazy
 * loading of optional peer dependencies.
 *
 * @module
 */
import { ValidationError } from '../errors.js';
import type { ConversationKey } from '../ids.js';
import { CLOSED_REASONS } from '../vocabulary.js';
import {
  type ClosedReason,
  type ConversationState,
  DEFAULT_DEDUPE_TTL_MS,
  DEFAULT_STORE_TTL_MS,
  type InboundEntry,
  type InboundRange,
  MAX_INBOUND_RANGE_LIMIT,
  type PageState,
  type TagAvailability,
} from './types.js';

// Each check returns the ValidationError to throw, or undefined: checkedStore (checked.ts)
// chains them with `??` and rejects with the first, so a valid call allocates nothing.

/** The `ValidationError` for `value` unless it is a non-negative integer number of epoch ms. */
export function badTime(value: number, name: string): ValidationError | undefined {
  if (Number.isSafeInteger(value) && value >= 0) return undefined;
  return new ValidationError(
    `${name} must be a non-negative integer number of epoch milliseconds, got ${String(value)}`,
    [{ path: name, message: 'must be a non-negative safe integer (epoch ms)' }],
  );
}

/** An option's value in a message: a number as is, anything else with its type (`"1000" (a string)`). */
export const shown = (value: unknown): string =>
  typeof value === 'number' ? String(value) : `${JSON.stringify(value) ?? String(value)} (a ${typeof value})`;

/** The `ValidationError` for `value` unless it is a positive integer number of milliseconds. */
export function badDuration(value: number, name: string): ValidationError | undefined {
  if (Number.isSafeInteger(value) && value > 0) return undefined;
  return new ValidationError(`${name} must be a positive integer number of milliseconds, got ${shown(value)}`, [
    { path: name, message: 'must be a positive integer (ms)' },
  ]);
}

/** The `ValidationError` for `value` unless it is a non-empty string. */
export function badText(value: string, name: string): ValidationError | undefined {
  if (typeof value === 'string' && value.length > 0) return undefined;
  return new ValidationError(`${name} must be a non-empty string`, [{ path: name, message: 'must be non-empty' }]);
}

const REASONS: readonly ClosedReason[] = CLOSED_REASONS;

/** The `ValidationError` for `reason` unless it is a known {@link ClosedReason}. */
export function badReason(reason: ClosedReason): ValidationError | undefined {
  if (REASONS.includes(reason)) return undefined;
  return new ValidationError(`closed reason must be one of ${REASONS.join(', ')}`, [
    { path: 'reason', message: 'unknown closed reason' },
  ]);
}

/** The `ValidationError` for token-bucket parameters that make no sense, or undefined. */
export function badBucket(
  bucket: string,
  ratePerSecond: number,
  burst: number,
  now: number,
): ValidationError | undefined {
  const text = badText(bucket, 'bucket');
  if (text !== undefined) return text;
  if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0)) {
    return new ValidationError('ratePerSecond must be a positive number', [{ path: 'ratePerSecond', message: '> 0' }]);
  }
  if (!(Number.isSafeInteger(burst) && burst >= 1)) {
    return new ValidationError('burst must be an integer >= 1', [{ path: 'burst', message: 'integer >= 1' }]);
  }
  return badTime(now, 'now');
}

/** A store factory's refusal of one option (`path`): the error the adapters throw at creation. */
export const badOption = (message: string, path: string, issue: string): ValidationError =>
  new ValidationError(message, [{ path, message: issue }]);

/** The options every persistent store shares, with their defaults applied and checked. */
export function storeTimes(options: {
  ttlMs?: number | undefined;
  dedupeTtlMs?: number | undefined;
  now?: (() => number) | undefined;
}): {
  ttlMs: number;
  dedupeTtlMs: number;
  now: () => number;
} {
  const ttlMs = options.ttlMs ?? DEFAULT_STORE_TTL_MS;
  const dedupeTtlMs = options.dedupeTtlMs ?? DEFAULT_DEDUPE_TTL_MS;
  assertDuration(ttlMs, 'ttlMs');
  assertDuration(dedupeTtlMs, 'dedupeTtlMs');
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw badOption('now must be a function returning epoch milliseconds', 'now', 'must be a function');
  }
  return { ttlMs, dedupeTtlMs, now: options.now ?? Date.now };
}

/**
 * The names of `value` that `names` does not list, with the sentence that says so
 * (`x has no option "tablePrefix"; its options are a, b`), or undefined when it lists them all.
 * One check for every options object the package takes (stores, the testing kit).
 */
export function unknownOptions(
  value: object,
  names: object,
  where: string,
): { names: string[]; message: string } | undefined {
  const unknown = Object.keys(value).filter((name) => !Object.hasOwn(names, name));
  if (unknown.length === 0) return undefined;
  const listed = unknown.map((name) => JSON.stringify(name)).join(', ');
  return {
    names: unknown,
    message: `${where} has no option ${listed}; its options are ${Object.keys(names).join(', ')}`,
  };
}

/**
 * A store factory's options: an object, with no name the store does not know (a typo such as
 * `tablePrefix` would otherwise fall back to the default silently). `names` lists them all,
 * checked against the options type at compile time.
 */
export function checkStoreOptions<T extends object>(
  options: T | undefined,
  store: string,
  names: Readonly<Record<keyof T, true>>,
  usage: string,
): asserts options is T {
  if (options === null || typeof options !== 'object') {
    throw badOption(`${store} needs its options: ${usage}`, '', 'must be an object');
  }
  const unknown = unknownOptions(options, names, store);
  if (unknown !== undefined) {
    throw new ValidationError(
      unknown.message,
      unknown.names.map((name) => ({ path: name, message: 'unknown option' })),
    );
  }
}

/** The `windowIndex` option of a persistent store: true unless `false`; anything else is refused. */
export function windowIndexOption(options: { windowIndex?: boolean | undefined }, store: string): boolean {
  const value = options.windowIndex;
  if (value !== undefined && typeof value !== 'boolean') {
    throw badOption(`${store} windowIndex must be true or false`, 'windowIndex', 'must be a boolean');
  }
  return value !== false;
}

/** Throws `ValidationError` unless `value` is a positive integer number of milliseconds (an option). */
export function assertDuration(value: number, name: string): void {
  const bad = badDuration(value, name);
  if (bad !== undefined) throw bad;
}

/**
 * The `ValidationError` for a malformed {@link InboundRange}, or undefined: epoch-ms bounds, a
 * limit of 1..{@link MAX_INBOUND_RANGE_LIMIT}, and an `after` position whose key is a
 * conversation key (of `pageId`, when one is given: a cursor from another Page is foreign).
 */
export function badInboundRange(range: InboundRange): ValidationError | undefined {
  if (typeof range !== 'object' || range === null) {
    return new ValidationError('range must be an object', [{ path: 'range', message: 'must be an object' }]);
  }
  const { from, to, limit, pageId, after } = range;
  const bad = badTime(from, 'from') ?? badTime(to, 'to');
  if (bad !== undefined) return bad;
  if (!(Number.isSafeInteger(limit) && limit >= 1 && limit <= MAX_INBOUND_RANGE_LIMIT)) {
    const message = `must be an integer from 1 to ${MAX_INBOUND_RANGE_LIMIT}`;
    return new ValidationError(`limit ${message}, got ${String(limit)}`, [{ path: 'limit', message }]);
  }
  if (pageId !== undefined && (badText(pageId, 'pageId') !== undefined || pageId.includes(':'))) {
    return new ValidationError('pageId must be a Page ID', [{ path: 'pageId', message: 'must be a Page ID' }]);
  }
  if (after === undefined) return undefined;
  if (typeof after !== 'object' || after === null) {
    return new ValidationError('after must be { at, key }', [{ path: 'after', message: 'must be { at, key }' }]);
  }
  const colon = typeof after.key === 'string' ? after.key.indexOf(':') : -1;
  if (colon <= 0 || colon === after.key.length - 1) {
    const message = 'must be a conversation key "<pageId>:<psid>"';
    return new ValidationError(`after.key ${message}`, [{ path: 'after.key', message }]);
  }
  if (pageId !== undefined && after.key.slice(0, colon) !== pageId) {
    const message = 'must be a conversation of range.pageId (a cursor from another Page)';
    return new ValidationError(`after.key ${message}`, [{ path: 'after.key', message }]);
  }
  return badTime(after.at, 'after.at');
}

/**
 * The order of `listByLastInbound`: `lastInboundAt`, then the key in plain byte order (keys are
 * ASCII digits and `:`, so JavaScript's code-unit order is byte order, as in Redis and SQL "C").
 */
export function compareInbound(a: { at: number; key: string }, b: { at: number; key: string }): number {
  return a.at - b.at || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** True when `(at, key)` comes strictly after `after` in `listByLastInbound` order. */
export function isAfter(at: number, key: string, after: InboundRange['after']): boolean {
  return after === undefined || at > after.at || (at === after.at && key > after.key);
}

/**
 * One Page's part of a listing: up to `want` of its entries with `from < lastInboundAt <= to`,
 * strictly after `after` (a position of that Page), in `listByLastInbound` order.
 */
export type PageLister = (
  pageId: string,
  from: number,
  after: { at: number; key: ConversationKey } | undefined,
  want: number,
) => Promise<InboundEntry[]>;

/**
 * `listByLastInbound` over stores that index each Page on its own (Redis: sorted sets per
 * Page, for Cluster slots). Asks every Page for a few entries, then asks again, for twice as
 * many, only the Pages whose last entry still comes before the `limit`-th of the merge: about
 * 2-3× `limit` entries read in all, instead of `limit` per Page. A conversation read twice (a
 * newer message moved it between two reads) keeps its newer position.
 */
export async function listAcrossPages(
  pages: readonly string[],
  range: InboundRange,
  listPage: PageLister,
): Promise<InboundEntry[]> {
  const { limit, after } = range;
  // The global cursor, seen from one Page: the same Page resumes after its key; another Page
  // resumes at `after.at` when its keys sort after `after.key`, else after `after.at`
  // (times are integers, so "at >= t" is "at > t - 1").
  const cursors = pages.map((page) => {
    let from = range.from;
    let pageAfter: InboundRange['after'];
    if (after !== undefined) {
      const prefix = `${page}:`;
      if (after.key.startsWith(prefix)) pageAfter = after;
      else from = Math.max(from, after.key < prefix ? after.at - 1 : after.at);
    }
    return { page, from, after: pageAfter, got: [] as InboundEntry[], exhausted: false };
  });
  const position = (e: InboundEntry) => ({ at: e.state.lastInboundAt, key: e.key });
  let want = pages.length === 1 ? limit : Math.min(limit, Math.max(2, Math.ceil((2 * limit) / pages.length)));
  let merged: InboundEntry[] = [];
  for (;;) {
    const cut = merged.length >= limit ? position(merged[limit - 1] as InboundEntry) : undefined;
    const needing = cursors.filter((c) => {
      const last = c.got[c.got.length - 1];
      return !c.exhausted && (cut === undefined || last === undefined || compareInbound(position(last), cut) < 0);
    });
    if (needing.length === 0) break;
    await Promise.all(
      needing.map(async (c) => {
        const last = c.got[c.got.length - 1];
        const entries = await listPage(c.page, c.from, last === undefined ? c.after : position(last), want);
        c.got.push(...entries);
        if (entries.length < want) c.exhausted = true;
      }),
    );
    const newest = new Map<string, InboundEntry>();
    for (const c of cursors) {
      for (const e of c.got) {
        const seen = newest.get(e.key);
        if (seen === undefined || e.state.lastInboundAt > seen.state.lastInboundAt) newest.set(e.key, e);
      }
    }
    merged = [...newest.values()].sort((a, b) => compareInbound(position(a), position(b)));
    want = Math.min(limit, want * 2);
  }
  return merged.slice(0, limit);
}

/** Milliseconds until one token is back, given a fractional token count below 1. */
export function retryAfter(tokens: number, ratePerSecond: number): number {
  return Math.max(1, Math.ceil(((1 - tokens) * 1000) / ratePerSecond));
}

/**
 * Reads an epoch-ms value that a driver returned as a string, number or bigint (pg returns
 * `bigint` columns as strings so that no precision is lost silently): exact, or a loud error.
 */
export function toMs(value: unknown, column: string): number {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' || typeof value === 'bigint'
        ? Number(value)
        : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new Error(`Stored ${column} is not an exact epoch-ms integer: ${String(value)}`);
  return n;
}

/** Builds a {@link ConversationState} from stored columns, leaving absent fields out. */
export function conversationFrom(
  inboundAt: number,
  inboundUuid: string,
  outboundAt: number | undefined,
  closedAt: number | undefined,
  closedReason: string | undefined,
): ConversationState {
  const state: ConversationState = { lastInboundAt: inboundAt, lastInboundUuid: inboundUuid };
  if (outboundAt !== undefined) state.lastOutboundAt = outboundAt;
  if (closedAt !== undefined) {
    state.closedAt = closedAt;
    state.closedReason = closedReason as ClosedReason;
  }
  return state;
}

/**
 * Conversations are stored as one string, `in|out|closedAt|reason|uuid` (empty = absent; the
 * uuid last, so it may hold any character). One value means one cheap read: a Redis GET, one
 * PostgreSQL text column. The SQL and Lua sides build the same format.
 */
export function decodeConversation(value: string): ConversationState {
  const a = value.indexOf('|');
  const b = value.indexOf('|', a + 1);
  const c = value.indexOf('|', b + 1);
  const d = value.indexOf('|', c + 1);
  if (a < 0 || b < 0 || c < 0 || d < 0) throw new Error('Stored conversation is malformed');
  return conversationFrom(
    toMs(value.slice(0, a), 'lastInboundAt'),
    value.slice(d + 1),
    b > a + 1 ? toMs(value.slice(a + 1, b), 'lastOutboundAt') : undefined,
    c > b + 1 ? toMs(value.slice(b + 1, c), 'closedAt') : undefined,
    value.slice(c + 1, d),
  );
}

/** Builds a {@link PageState} from stored columns, leaving absent fields out. */
export function pageFrom(
  linked: boolean,
  changedAt: number,
  errorCode: string | undefined,
  errorDetail: string | undefined,
): PageState {
  const state: PageState = { linked, changedAt };
  if (errorCode !== undefined) state.errorCode = errorCode;
  if (errorDetail !== undefined) state.errorDetail = errorDetail;
  return state;
}

const SQL_TABLE_PREFIX = /^[a-z_][a-z0-9_]{0,39}$/;

/** Throws `ValidationError` unless `table` is a safe table-name prefix (SQLite and D1 stores). */
export function assertTablePrefix(table: string, store: string): void {
  if (typeof table !== 'string' || !SQL_TABLE_PREFIX.test(table)) {
    throw new ValidationError(
      `${store} table must be lowercase letters, digits and _ (at most 40): ${JSON.stringify(table)}`,
      [{ path: 'table', message: `must match ${SQL_TABLE_PREFIX}` }],
    );
  }
  if (table.startsWith('sqlite_')) {
    throw new ValidationError(`${store} table must not start with sqlite_ (SQLite reserves those names)`, [
      { path: 'table', message: 'must not start with sqlite_' },
    ]);
  }
}

/** A Page row as the SQLite and D1 stores keep it: `linked` as 0/1, times in epoch ms. */
export interface PageRow {
  linked: number;
  changed_at: number;
  error_code: string | null;
  error_detail: string | null;
}

/** The {@link PageState} of a SQLite/D1 row. */
export function pageFromRow(row: PageRow): PageState {
  return pageFrom(
    row.linked === 1,
    toMs(row.changed_at, 'changed_at'),
    row.error_code ?? undefined,
    row.error_detail ?? undefined,
  );
}

/** A tag's availability as the persistent stores keep it: `a` 1/0, `t` changedAt, `e`/`d` details. */
export interface StoredTag {
  a: number | boolean;
  t: number | string;
  e?: string | null;
  d?: string | null;
}

/** Builds the `getTagAvailability` record from stored rows (own properties only, any tag name). */
export function tagsFrom(rows: Iterable<readonly [string, StoredTag]>): Record<string, TagAvailability> {
  const out: Record<string, TagAvailability> = {};
  for (const [tag, row] of rows) {
    const state: TagAvailability = { available: row.a === 1 || row.a === true, changedAt: toMs(row.t, 'changedAt') };
    if (typeof row.e === 'string') state.errorCode = row.e;
    if (typeof row.d === 'string') state.errorDetail = row.d;
    // defineProperty: a tag named "__proto__" must stay a key, not become the prototype.
    Object.defineProperty(out, tag, { value: state, enumerable: true, configurable: true, writable: true });
  }
  return out;
}

/**
 * Loads an optional peer dependency on first use, with an error that says what to install.
 * Dynamic `import()` keeps the dependency out of every entry that does not need it.
 */
export async function loadPeer<T>(name: string, entry: string): Promise<T> {
  try {
    const mod = (await import(name)) as { default?: T } & T;
    return (mod.default ?? mod) as T;
  } catch (error) {
    throw new Error(`${entry} needs ${name}: npm install ${name}`, { cause: error });
  }
}
