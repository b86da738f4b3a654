/**
 * `vonage-messenger/redis`: a {@link SessionStore} on Redis through an `ioredis` client that
 * you create (standalone or `Cluster`). Every operation is one atomic round trip — one command,
 * or one Lua script run with EVALSHA (EVAL once per server when the script cache misses) — and
 * every key an operation touches shares one hash slot, so it works on Redis Cluster.
 *
 * Key layout (`P` = prefix, `K` = `pageId:psid`):
 * - `P c:{K}`  the conversation, one string `in|out|closedAt|reason|uuid`; expires at
 *   `lastInboundAt + ttlMs` (SET … PXAT, so Redis 6.2 or later)
 * - `P m:{K}`  sorted set of the conversation's message ids (score = remembered until); same slot
 * - `P a:{K}`  the conversation's latest Click-to-Messenger ad message (epoch ms); same slot,
 *   expires at `adReferralAt + ttlMs`
 * - `P p:<pageId>` hash of the Page link state (never expires: an unlinked mark must not vanish)
 * - `P g:<pageId>` hash of the Page's tag availability, one JSON value per tag (never expires)
 * - `P k:<id>` one-time claims (`SET NX PX`)
 * - `P t:<bucket>` token buckets; expire once full again
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { ValidationError } from '../errors.js';
import type { ConversationKey, PageId } from '../ids.js';
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
  type StoredTag,
  tagsFrom,
  toMs,
} from './shared.js';
import type { FullSessionStore, SessionStore } from './types.js';

/**
 * Options of {@link redisStore}.
 *
 * @example
 * ```ts
 * const options: RedisStoreOptions = { client: new Redis(process.env.REDIS_URL!), prefix: 'shop:' }
 * const store = redisStore(options)
 * ```
 */
export interface RedisStoreOptions {
  /**
   * An `ioredis` client (`new Redis(...)` or `new Cluster(...)`). The store never closes it.
   * For fail-fast behaviour when Redis is down, create it with `enableOfflineQueue: false`
   * and a small `maxRetriesPerRequest` / `commandTimeout` (see docs/stores.md).
   */
  client: Redis | Cluster;
  /** Prepended to every key. Default `"vonage-messenger:"`. Must not contain `{` or `}`. */
  prefix?: string;
  /**
   * A conversation is forgotten this long after the user's last message. Default 8 days:
   * HUMAN_AGENT's 7 days plus one.
   */
  ttlMs?: number;
  /** How long a `message_uuid` is remembered as seen. Default 48 h (Vonage retries for 24 h). */
  dedupeTtlMs?: number;
  /** Clock for dedupe bookkeeping. Default `Date.now`. Key expiry runs on the Redis clock. */
  now?: () => number;
}

/**
 * A Redis-backed {@link SessionStore}; it always has `takeToken`, so a fleet shares one
 * per-Page send limit.
 *
 * @example
 * ```ts
 * const store: RedisStore = redisStore({ client })
 * const messenger = createMessenger({ applicationId, privateKey, store, rateLimit: true })
 * ```
 */
export type RedisStore = FullSessionStore;

interface Script {
  readonly lua: string;
  readonly sha: string;
}

function script(lua: string): Script {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

// A conversation is one string `in|out|closedAt|reason|uuid` (see decodeConversation), so a
// read is a plain GET. Lua numbers are doubles: exact for epoch ms, but `tostring` would round
// big ones, so the scripts compare with tonumber() and only ever store the caller's strings.
const RECORD_INBOUND = script(`
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
if redis.call('ZADD', KEYS[2], 'NX', ARGV[5], ARGV[2]) == 0 then
  return {1, redis.call('GET', KEYS[1])}
end
redis.call('PEXPIRE', KEYS[2], ARGV[6])
local v = redis.call('GET', KEYS[1])
if v then
  local i, o, c, r = string.match(v, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|')
  if tonumber(ARGV[1]) <= tonumber(i) then return {0, v} end
  v = ARGV[1] .. '|' .. o .. '|' .. c .. '|' .. r .. '|' .. ARGV[2]
else
  v = ARGV[1] .. '||||' .. ARGV[2]
end
redis.call('SET', KEYS[1], v, 'PXAT', ARGV[3])
return {0, v}
`);

const RECORD_OUTBOUND = script(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local i, o, rest = string.match(v, '^([^|]*)|([^|]*)(|.*)$')
if o ~= '' and tonumber(ARGV[1]) <= tonumber(o) then return 0 end
redis.call('SET', KEYS[1], i .. '|' .. ARGV[1] .. rest, 'KEEPTTL')
return 1
`);

const MARK_CLOSED = script(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local head, c, r, u = string.match(v, '^([^|]*|[^|]*)|([^|]*)|([^|]*)|(.*)$')
if c ~= '' and tonumber(ARGV[1]) < tonumber(c) then return 0 end
redis.call('SET', KEYS[1], head .. '|' .. ARGV[1] .. '|' .. ARGV[2] .. '|' .. u, 'KEEPTTL')
return 1
`);

const SET_PAGE = script(`
local t = redis.call('HGET', KEYS[1], 't')
if t and tonumber(ARGV[2]) < tonumber(t) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'l', ARGV[1], 't', ARGV[2])
if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'e', ARGV[4]) end
if ARGV[5] == '1' then redis.call('HSET', KEYS[1], 'd', ARGV[6]) end
return 1
`);

const TAKE_TOKEN = script(`
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 'n', 't')
local tokens = burst
local ts = ARGV[3]
if s[1] then
  tokens = tonumber(s[1])
  ts = s[2]
  local last = tonumber(s[2])
  if now > last then
    tokens = tokens + (now - last) * rate / 1000
    ts = ARGV[3]
  end
  if tokens > burst then tokens = burst end
end
if tokens >= 1 then
  redis.call('HSET', KEYS[1], 'n', string.format('%.17g', tokens - 1), 't', ts)
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {1, '0'}
end
return {0, string.format('%.17g', tokens)}
`);

// KEYS[1] = the conversation, KEYS[2] = its ad-referral instant. Only a known conversation
// gets one (as markClosed), and only a later instant replaces it.
const RECORD_AD_REFERRAL = script(`
local conversation = KEYS[1]
local referral = KEYS[2]
local at = ARGV[1]
local expiresAt = ARGV[2]
if redis.call('EXISTS', conversation) == 0 then return 0 end
local old = redis.call('GET', referral)
if old and tonumber(at) <= tonumber(old) then return 0 end
redis.call('SET', referral, at, 'PXAT', expiresAt)
return 1
`);

// KEYS[1] = the Page's tag hash. The value is JSON; an older change than the stored one loses.
const SET_TAG = script(`
local tags = KEYS[1]
local tag = ARGV[1]
local at = tonumber(ARGV[2])
local value = ARGV[3]
local old = redis.call('HGET', tags, tag)
if old and at < tonumber(cjson.decode(old).t) then return 0 end
redis.call('HSET', tags, tag, value)
return 1
`);

/**
 * The scripts, for tests and for preloading with `SCRIPT LOAD` on every Cluster master.
 * Each entry is `{ lua, sha }` (`sha` = the SHA-1 that EVALSHA uses).
 *
 * @example
 * ```ts
 * const cluster = new Cluster([{ host: '127.0.0.1', port: 7000 }])
 * for (const node of cluster.nodes('master')) {
 *   for (const { lua } of Object.values(REDIS_SCRIPTS)) await node.script('LOAD', lua)
 * }
 * ```
 */
export const REDIS_SCRIPTS: Readonly<Record<string, Script>> = {
  recordInbound: RECORD_INBOUND,
  recordOutbound: RECORD_OUTBOUND,
  markClosed: MARK_CLOSED,
  setPageLinked: SET_PAGE,
  takeToken: TAKE_TOKEN,
  recordAdReferral: RECORD_AD_REFERRAL,
  setTagAvailability: SET_TAG,
};

const isNoScript = (error: unknown): boolean =>
  error instanceof Error && typeof error.message === 'string' && error.message.startsWith('NOSCRIPT');

/**
 * A {@link SessionStore} on Redis (standalone or Cluster) through `ioredis`.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * import { createMessenger } from 'vonage-messenger'
 * import { redisStore } from 'vonage-messenger/redis'
 *
 * const client = new Redis(process.env.REDIS_URL!, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2000 })
 * const messenger = createMessenger({ applicationId, privateKey, store: redisStore({ client, prefix: 'shop:' }) })
 * ```
 */
export function redisStore(options: RedisStoreOptions): RedisStore {
  const { client } = options;
  if (client === undefined || client === null || typeof (client as Redis).evalsha !== 'function') {
    throw new ValidationError('redisStore needs an ioredis client: redisStore({ client: new Redis(url) })', [
      { path: 'client', message: 'must be an ioredis Redis or Cluster' },
    ]);
  }
  const prefix = options.prefix ?? 'vonage-messenger:';
  if (/[{}]/.test(prefix)) {
    // A brace in the prefix would become the hash tag and put every key in one slot.
    throw new ValidationError('redisStore prefix must not contain { or }', [
      { path: 'prefix', message: 'must not contain { or }' },
    ]);
  }
  const ttlMs = options.ttlMs ?? DEFAULT_STORE_TTL_MS;
  const dedupeTtlMs = options.dedupeTtlMs ?? DEFAULT_DEDUPE_TTL_MS;
  assertDuration(ttlMs, 'ttlMs');
  assertDuration(dedupeTtlMs, 'dedupeTtlMs');
  const now = options.now ?? Date.now;
  const dedupeTtl = String(dedupeTtlMs);

  const convKey = (key: ConversationKey) => `${prefix}c:{${key}}`;
  const seenKey = (key: ConversationKey) => `${prefix}m:{${key}}`;
  const adKey = (key: ConversationKey) => `${prefix}a:{${key}}`;

  async function run(s: Script, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await client.evalsha(s.sha, keys.length, ...keys, ...args);
    } catch (error) {
      // First use on this server (or after SCRIPT FLUSH / failover): EVAL also caches it.
      if (isNoScript(error)) return client.eval(s.lua, keys.length, ...keys, ...args);
      throw error;
    }
  }

  return {
    async get(key) {
      // One MGET: both keys share the conversation's hash slot.
      const [value, ad] = await client.mget(convKey(key), adKey(key));
      if (value === null || value === undefined) return null;
      const state = decodeConversation(value);
      if (ad !== null && ad !== undefined) state.adReferralAt = toMs(ad, 'adReferralAt');
      return state;
    },

    async recordAdReferral(key, at) {
      assertTime(at, 'at');
      await run(RECORD_AD_REFERRAL, [convKey(key), adKey(key)], [String(at), String(at + ttlMs)]);
    },

    async setTagAvailability(pageId, tag, available, at, details) {
      assertText(tag, 'tag');
      assertTime(at, 'at');
      const value: Record<string, unknown> = { a: available ? 1 : 0, t: at };
      if (!available && details?.errorCode !== undefined) value.e = details.errorCode;
      if (!available && details?.errorDetail !== undefined) value.d = details.errorDetail;
      await run(SET_TAG, [`${prefix}g:${pageId}`], [tag, String(at), JSON.stringify(value)]);
    },

    async getTagAvailability(pageId) {
      const stored = await client.hgetall(`${prefix}g:${pageId}`);
      return tagsFrom(Object.entries(stored).map(([tag, json]) => [tag, JSON.parse(json) as StoredTag]));
    },

    async recordInbound(key, at, messageUuid) {
      assertTime(at, 'at');
      assertText(messageUuid, 'messageUuid');
      const t = now();
      const reply = (await run(
        RECORD_INBOUND,
        [convKey(key), seenKey(key)],
        [String(at), messageUuid, String(at + ttlMs), String(t), String(t + dedupeTtlMs), dedupeTtl],
      )) as [number, string | null];
      // A duplicate of a message whose conversation is gone (expired) reports the message itself.
      const state =
        reply[1] === null ? { lastInboundAt: at, lastInboundUuid: messageUuid } : decodeConversation(reply[1]);
      return { state, duplicate: reply[0] === 1 };
    },

    async recordOutbound(key, at) {
      assertTime(at, 'at');
      await run(RECORD_OUTBOUND, [convKey(key)], [String(at)]);
    },

    async markClosed(key, at, reason) {
      assertTime(at, 'at');
      assertReason(reason);
      await run(MARK_CLOSED, [convKey(key)], [String(at), reason]);
    },

    async getPage(pageId: PageId) {
      const [linked, changedAt, errorCode, errorDetail] = await client.hmget(
        `${prefix}p:${pageId}`,
        'l',
        't',
        'e',
        'd',
      );
      if (linked === null || linked === undefined || changedAt === null || changedAt === undefined) return null;
      return pageFrom(linked === '1', toMs(changedAt, 'changedAt'), errorCode ?? undefined, errorDetail ?? undefined);
    },

    async setPageLinked(pageId, linked, at, details) {
      assertTime(at, 'at');
      const code = linked ? undefined : details?.errorCode;
      const detail = linked ? undefined : details?.errorDetail;
      await run(
        SET_PAGE,
        [`${prefix}p:${pageId}`],
        [
          linked ? '1' : '0',
          String(at),
          code === undefined ? '0' : '1',
          code ?? '',
          detail === undefined ? '0' : '1',
          detail ?? '',
        ],
      );
    },

    async claim(id, ttl) {
      assertText(id, 'id');
      assertDuration(ttl, 'ttlMs');
      return (await client.set(`${prefix}k:${id}`, '1', 'PX', ttl, 'NX')) === 'OK';
    },

    async takeToken(bucket, ratePerSecond, burst, at) {
      assertBucket(bucket, ratePerSecond, burst, at);
      // Once full again the bucket equals a missing one, so it may expire then.
      const fullAfterMs = Math.ceil((burst * 1000) / ratePerSecond) + 1000;
      const [allowed, tokens] = (await run(
        TAKE_TOKEN,
        [`${prefix}t:${bucket}`],
        [String(ratePerSecond), String(burst), String(at), String(fullAfterMs)],
      )) as [number, string];
      return allowed === 1
        ? { allowed: true, retryAfterMs: 0 }
        : { allowed: false, retryAfterMs: retryAfter(Number(tokens), ratePerSecond) };
    },

    async delete(key) {
      // Both keys share the {pageId:psid} hash slot, so one DEL works on Cluster too.
      await client.del(convKey(key), seenKey(key), adKey(key));
    },

    async close() {
      // The client belongs to the caller: it may serve other code, so it stays open.
    },
  };
}
