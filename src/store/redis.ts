/**
 * `vonage-messenger/redis`: a {@link SessionStore} on Redis through an `ioredis` client that
 * you create (standalone or `Cluster`). Every operation is one atomic round trip — one command,
 * or one Lua script run with EVALSHA (EVAL once per server when the script cache misses) — and
 * every key an operation touches shares one hash slot, so it works on Redis Cluster.
 *
 * Key layout (`P` = prefix; `{pageId}` is the hash tag, so one Page's keys share a slot):
 * - `P c:{pageId}:psid`  the conversation, one string `in|out|closedAt|reason|uuid`; expires
 *   at `lastInboundAt + ttlMs` (SET … PXAT, so Redis 6.2 or later)
 * - `P m:{pageId}:psid`  sorted set of the conversation's message ids (score = remembered until)
 * - `P a:{pageId}:psid`  the conversation's latest Click-to-Messenger ad message (epoch ms);
 *   expires at `adReferralAt + ttlMs`
 * - `P p:{pageId}` hash of the Page link state (never expires: an unlinked mark must not vanish)
 * - `P g:{pageId}` hash of the Page's tag availability, one JSON value per tag (never expires)
 * - `P k:<id>` one-time claims (`SET NX PX`); `P d:<id>` delivery leases (the SDK's ids for
 *   a webhook start with `{pageId}`, so they share the Page's slot)
 * - `P t:<bucket>` token buckets; expire once full again
 * - `P i:{pageId}` the Page's window index (behind `listByLastInbound`): a sorted set of the
 *   PSIDs of its open conversations, score = `lastInboundAt`, changed by the same scripts as
 *   the conversation; it expires with its newest member, and members past `ttlMs` are trimmed
 *   by every write to the Page and skipped by every read
 * - `P pages` the set of Page IDs that have an index, so a query over every Page knows where
 *   to look: added to when a process first sees a Page (or a Page's index is created), not
 *   per message, so no key is written by the whole fleet's traffic; it only grows (a Page ID
 *   is a few bytes, and an entry without an index costs one empty read)
 *
 * Changed in 0.2: conversations were tagged `{pageId:psid}`; see the CHANGELOG.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { ConversationKey, PageId } from '../ids.js';
import { checkedStore } from './checked.js';
import {
  badOption,
  decodeConversation,
  listAcrossPages,
  pageFrom,
  retryAfter,
  type StoredTag,
  storeTimes,
  tagsFrom,
  toMs,
  windowIndexOption,
} from './shared.js';
import type {
  ConversationState,
  DeliveryLease,
  FullSessionStore,
  InboundEntry,
  InboundRange,
  IngestResult,
  PageState,
  SessionStore,
} from './types.js';

/** Options of {@link redisStore}. */
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
  /**
   * Keep the window index behind `listByLastInbound` (`messenger.expiringSoon`, the window
   * watcher). Default true. False saves its bytes and writes (docs/performance.md); the store
   * then has no `listByLastInbound`.
   */
  windowIndex?: boolean;
}

/**
 * A Redis-backed {@link SessionStore}; it always has `takeToken`, so a fleet shares one
 * per-Page send limit, and `listByLastInbound` unless `windowIndex: false`.
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
// Each rule is one Lua function, shared by its own script and by INGEST. Every script opens by
// naming each KEYS/ARGV entry once; the body only uses those names.
// The window index: a conversation's PSID is in its Page's index (score = lastInboundAt) while
// it is open, i.e. not closed by the platform since the user's latest message (the listByLastInbound contract, types.ts).
// `member` is '' when the store keeps no index. Two calls on the common path (PTTL, ZADD):
// members past the ttl are trimmed when a new member joins (the set grows only then), and
// the set's expiry, which must outlast its newest member, is moved to index_until (an hour
// past the conversation's) only when it falls short, so about once an hour per Page.
// Returns 1 when the index was created (the client then registers the Page), else 0.
const INDEX_FN = `
local function index_inbound(index, member, at, v, live_after, now, index_until)
  local c = string.match(v, '^[^|]*|[^|]*|([^|]*)|')
  if c ~= '' and tonumber(c) >= tonumber(at) then
    redis.call('ZREM', index, member)
    return 0
  end
  local ttl = redis.call('PTTL', index)
  if redis.call('ZADD', index, at, member) == 1 then redis.call('ZREMRANGEBYSCORE', index, '-inf', live_after) end
  if ttl < 0 or tonumber(now) + ttl < tonumber(index_until) - 3600000 then redis.call('PEXPIREAT', index, index_until) end
  if ttl == -2 then return 1 end
  return 0
end
`;
const RECORD_INBOUND_FN = `
local function record_inbound(conv, seen, at, uuid, conv_until, now, seen_until, seen_ttl, index, member, live_after, index_until)
  redis.call('ZREMRANGEBYSCORE', seen, '-inf', now)
  if redis.call('ZADD', seen, 'NX', seen_until, uuid) == 0 then
    return {1, redis.call('GET', conv), 0}
  end
  redis.call('PEXPIRE', seen, seen_ttl)
  local v = redis.call('GET', conv)
  if v then
    local i, o, c, r = string.match(v, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|')
    if tonumber(at) <= tonumber(i) then return {0, v, 0} end
    v = at .. '|' .. o .. '|' .. c .. '|' .. r .. '|' .. uuid
  else
    v = at .. '||||' .. uuid
  end
  redis.call('SET', conv, v, 'PXAT', conv_until)
  local created = 0
  if member ~= '' and tonumber(conv_until) > tonumber(now) then
    created = index_inbound(index, member, at, v, live_after, now, index_until)
  end
  return {0, v, created}
end
`;
const RECORD_INBOUND = script(`
local conv = KEYS[1]        -- the conversation string
local seen = KEYS[2]        -- sorted set of its message ids (score = remembered until)
local index = KEYS[3]       -- the Page's window index
local at = ARGV[1]          -- the message's time, epoch ms
local uuid = ARGV[2]        -- its message_uuid
local conv_until = ARGV[3]  -- when the conversation expires, epoch ms
local now = ARGV[4]         -- the store's clock, epoch ms (older ids are dropped)
local seen_until = ARGV[5]  -- until when this id is remembered, epoch ms
local seen_ttl = ARGV[6]    -- ms the id set is kept after this write
local member = ARGV[7]      -- the PSID in the window index; '' when the store keeps none
local live_after = ARGV[8]  -- index members at or before this (now - ttl) have expired
local index_until = ARGV[9] -- the index's expiry when it must move: conv_until plus an hour
${INDEX_FN}${RECORD_INBOUND_FN}
return record_inbound(conv, seen, at, uuid, conv_until, now, seen_until, seen_ttl, index, member, live_after, index_until)
`);

const RECORD_OUTBOUND = script(`
local conv = KEYS[1]  -- the conversation string
local at = ARGV[1]    -- the send's time, epoch ms
local v = redis.call('GET', conv)
if not v then return 0 end
local i, o, rest = string.match(v, '^([^|]*)|([^|]*)(|.*)$')
if o ~= '' and tonumber(at) <= tonumber(o) then return 0 end
redis.call('SET', conv, i .. '|' .. at .. rest, 'KEEPTTL')
return 1
`);

const MARK_CLOSED_FN = `
local function mark_closed(conv, at, reason, index, member)
  local v = redis.call('GET', conv)
  if not v then return 0 end
  local head, c, r, u = string.match(v, '^([^|]*|[^|]*)|([^|]*)|([^|]*)|(.*)$')
  if c ~= '' and tonumber(at) < tonumber(c) then return 0 end
  redis.call('SET', conv, head .. '|' .. at .. '|' .. reason .. '|' .. u, 'KEEPTTL')
  -- Closed since the user's latest message: no longer open, so out of the window index.
  if member ~= '' and tonumber(at) >= tonumber(string.match(head, '^[^|]*')) then redis.call('ZREM', index, member) end
  return 1
end
`;
const MARK_CLOSED = script(`
local conv = KEYS[1]    -- the conversation string
local index = KEYS[2]   -- the Page's window index
local at = ARGV[1]      -- when it closed, epoch ms
local reason = ARGV[2]  -- a ClosedReason
local member = ARGV[3]  -- the PSID in the window index; '' when the store keeps none
${MARK_CLOSED_FN}
return mark_closed(conv, at, reason, index, member)
`);

const SET_PAGE_FN = `
local function set_page(page, linked, at, has_code, code, has_detail, detail)
  local t = redis.call('HGET', page, 't')
  if t and tonumber(at) < tonumber(t) then return 0 end
  redis.call('DEL', page)
  redis.call('HSET', page, 'l', linked, 't', at)
  if has_code == '1' then redis.call('HSET', page, 'e', code) end
  if has_detail == '1' then redis.call('HSET', page, 'd', detail) end
  return 1
end
`;
const SET_PAGE = script(`
local page = KEYS[1]        -- the Page hash: l linked, t changed at, e error code, d error detail
local linked = ARGV[1]      -- '1' linked, '0' unlinked
local at = ARGV[2]          -- when it changed, epoch ms
local has_code = ARGV[3]    -- '1' when code is given (an empty code is still a code)
local code = ARGV[4]        -- the Vonage error code of an unlink
local has_detail = ARGV[5]  -- '1' when detail is given
local detail = ARGV[6]      -- the Vonage error detail of an unlink
${SET_PAGE_FN}
return set_page(page, linked, at, has_code, code, has_detail, detail)
`);

// A delivery record is a hash: s = state (l leased, f failed, d done), u = lease end, a = attempt.
const LEASE_FN = `
local function lease(key, now, lease_until, keep_ms)
  local s = redis.call('HMGET', key, 's', 'u', 'a')
  local attempt = tonumber(s[3] or '0')
  if s[1] == 'd' then return {'done', attempt, 0} end
  if s[1] == 'l' and tonumber(s[2]) > tonumber(now) then return {'held', attempt, tonumber(s[2]) - tonumber(now)} end
  attempt = attempt + 1
  redis.call('HSET', key, 's', 'l', 'u', lease_until, 'a', attempt)
  redis.call('PEXPIRE', key, keep_ms)
  return {'acquired', attempt, 0}
end
`;
const LEASE = script(`
local delivery = KEYS[1]     -- the delivery record hash
local now = ARGV[1]          -- the caller's clock, epoch ms
local lease_until = ARGV[2]  -- when this lease ends, epoch ms
local keep_ms = ARGV[3]      -- ms the record is kept
${LEASE_FN}
return lease(delivery, now, lease_until, keep_ms)
`);

const SETTLE = script(`
local delivery = KEYS[1]  -- the delivery record hash
local attempt = ARGV[1]   -- the attempt that finished
local ok = ARGV[2]        -- '1' done, '0' failed
local keep_ms = ARGV[3]   -- a done record is kept at least this many ms
local s = redis.call('HMGET', delivery, 's', 'a')
if ok == '1' then
  if not s[2] then redis.call('HSET', delivery, 'a', attempt) end
  redis.call('HSET', delivery, 's', 'd')
  if redis.call('PTTL', delivery) < tonumber(keep_ms) then redis.call('PEXPIRE', delivery, keep_ms) end
  return 1
end
if s[1] == 'l' and s[2] == attempt then
  redis.call('HSET', delivery, 's', 'f')
  return 1
end
return 0
`);

// A guarded send's reads, one slot: the Page, the conversation and its ad-referral instant
// (which widens the window, so a send must see it).
const READ_FOR_SEND = script(`
local page = KEYS[1]          -- the Page hash
local conversation = KEYS[2]  -- the conversation string
local referral = KEYS[3]      -- its latest ad referral, epoch ms
return {redis.call('HMGET', page, 'l', 't', 'e', 'd'), redis.call('GET', conversation), redis.call('GET', referral)}
`);

// Everything one verified message or status writes, in one round trip (SessionStore.ingest).
// A message fills ARGV 5-8, a status ARGV 9-15; the other side's entries are ''.
const INGEST = script(`
local replay_claim = KEYS[1]  -- the webhook token's one-time claim
local conv = KEYS[2]          -- the conversation string
local seen = KEYS[3]          -- its message-id set
local page = KEYS[4]          -- the Page hash
local status_claim = KEYS[5]  -- a status's dedupe claim
local delivery = KEYS[6]      -- the delivery record
local index = KEYS[7]         -- the Page's window index
local kind = ARGV[1]          -- 'm' a message, 's' a status
local replay_ttl = ARGV[2]    -- ms the token's jti is remembered
local now = ARGV[3]           -- the receiving clock, epoch ms
local at = ARGV[4]            -- the event's time, epoch ms
local uuid = ARGV[5]          -- a message: its message_uuid
local conv_until = ARGV[6]    -- a message: when the conversation expires, epoch ms
local seen_until = ARGV[7]    -- a message: until when its id is remembered, epoch ms
local seen_ttl = ARGV[8]      -- a message: ms the id set is kept
local effect = ARGV[9]        -- a status: '' none, 'c' close, 'u' unlink, 'U' unlink if linked
local reason = ARGV[10]       -- a status that closes: the ClosedReason
local has_code = ARGV[11]     -- a status that unlinks: '1' when code is given
local code = ARGV[12]         -- ... its Vonage error code
local has_detail = ARGV[13]   -- ... '1' when detail is given
local detail = ARGV[14]       -- ... its Vonage error detail
local status_ttl = ARGV[15]   -- a status: ms its dedupe claim lasts
local lease_until = ARGV[16]  -- when the delivery lease ends, epoch ms; '' when no callback runs
local keep_ms = ARGV[17]      -- ms the delivery record is kept
local member = ARGV[18]       -- the PSID in the window index; '' when the store keeps none
local live_after = ARGV[19]   -- a message: index members at or before this have expired
local index_until = ARGV[20]  -- a message: the index's expiry when it must move
${INDEX_FN}${RECORD_INBOUND_FN}${MARK_CLOSED_FN}${SET_PAGE_FN}${LEASE_FN}
if not redis.call('SET', replay_claim, '1', 'PX', replay_ttl, 'NX') then return {1} end
local duplicate, state, applied, created = 0, false, 0, 0
if kind == 'm' then
  local r = record_inbound(conv, seen, at, uuid, conv_until, now, seen_until, seen_ttl, index, member, live_after, index_until)
  duplicate, state, created = r[1], r[2], r[3]
  if redis.call('HGET', page, 'l') ~= '1' then set_page(page, '1', at, '0', '', '0', '') end
else
  if effect == 'c' then
    mark_closed(conv, at, reason, index, member)
    applied = 1
  elseif effect == 'u' or (effect == 'U' and redis.call('HGET', page, 'l') == '1') then
    set_page(page, '0', at, has_code, code, has_detail, detail)
    applied = 1
  end
  if not redis.call('SET', status_claim, '1', 'PX', status_ttl, 'NX') then duplicate = 1 end
end
local l = false
if lease_until ~= '' then l = lease(delivery, now, lease_until, keep_ms) end
return {0, duplicate, state, applied, l, created}
`);

const TAKE_TOKEN = script(`
local bucket = KEYS[1]             -- the bucket hash: n tokens, t last refill, epoch ms
local rate = tonumber(ARGV[1])     -- tokens added per second
local burst = tonumber(ARGV[2])    -- the bucket's size
local now_text = ARGV[3]           -- the caller's clock, epoch ms, stored as given
local full_after_ms = ARGV[4]      -- ms until an untouched bucket is full again (its expiry)
local now = tonumber(now_text)
local s = redis.call('HMGET', bucket, 'n', 't')
local tokens = burst
local ts = now_text
if s[1] then
  tokens = tonumber(s[1])
  ts = s[2]
  local last = tonumber(s[2])
  if now > last then
    tokens = tokens + (now - last) * rate / 1000
    ts = now_text
  end
  if tokens > burst then tokens = burst end
end
if tokens >= 1 then
  redis.call('HSET', bucket, 'n', string.format('%.17g', tokens - 1), 't', ts)
  redis.call('PEXPIRE', bucket, full_after_ms)
  return {1, '0'}
end
return {0, string.format('%.17g', tokens)}
`);

// Only a known conversation gets an ad referral (as markClosed), and only a later instant
// replaces it.
const RECORD_AD_REFERRAL = script(`
local conversation = KEYS[1]  -- the conversation string
local referral = KEYS[2]      -- its latest ad referral, epoch ms
local at = ARGV[1]            -- this referral's time, epoch ms
local expires_at = ARGV[2]    -- when the referral key expires, epoch ms
if redis.call('EXISTS', conversation) == 0 then return 0 end
local old = redis.call('GET', referral)
if old and tonumber(at) <= tonumber(old) then return 0 end
redis.call('SET', referral, at, 'PXAT', expires_at)
return 1
`);

// The value is JSON; an older change than the stored one loses.
const SET_TAG = script(`
local tags = KEYS[1]          -- the Page's tag hash, one JSON value per tag
local tag = ARGV[1]           -- the message tag
local at = tonumber(ARGV[2])  -- when its availability changed, epoch ms
local value = ARGV[3]         -- the JSON to store: a available, t at, e code, d detail
local old = redis.call('HGET', tags, tag)
if old and at < tonumber(cjson.decode(old).t) then return 0 end
redis.call('HSET', tags, tag, value)
return 1
`);

// A deletion forgets the conversation, its message ids, its ad referral and its index entry.
const DELETE = script(`
local conv = KEYS[1]    -- the conversation string
local seen = KEYS[2]    -- its message-id set
local referral = KEYS[3]  -- its latest ad referral
local index = KEYS[4]   -- the Page's window index
local member = ARGV[1]  -- the PSID in the window index; '' when the store keeps none
redis.call('DEL', conv, seen, referral)
if member ~= '' then redis.call('ZREM', index, member) end
return 1
`);

// The reads of the window index, shared by LIST (one Page) and LIST_ALL (every Page).
// le: byte order of two strings (Lua's < follows the server's locale). start_rank: the first
// rank with score > from and strictly after (after_at, after_member) ('' after_at: no cursor;
// '' after_member: every member at after_at comes after it). read_open: the conversation and
// its ad referral ('' none) when it exists and is open, else nil.
const LIST_FN = `
local function le(a, b)
  for k = 1, math.min(#a, #b) do
    local x, y = string.byte(a, k), string.byte(b, k)
    if x ~= y then return x < y end
  end
  return #a <= #b
end
local function start_rank(index, from, after_at, after_member)
  local start = redis.call('ZCOUNT', index, '-inf', from)
  if after_at ~= '' then
    local lo = redis.call('ZCOUNT', index, '-inf', '(' .. after_at)
    local hi = lo + redis.call('ZCOUNT', index, after_at, after_at)
    while lo < hi do
      local mid = math.floor((lo + hi) / 2)
      if le(redis.call('ZRANGE', index, mid, mid)[1], after_member) then lo = mid + 1 else hi = mid end
    end
    if lo > start then start = lo end
  end
  return start
end
-- Reads the conversations and ad referrals of several members in one MGET (keys: conv1,
-- ad1, conv2, ad2, ...); returns for each its conversation and ad referral ('' none) when it
-- exists and is open, else false.
local function read_open(keys)
  local values = redis.call('MGET', unpack(keys))
  local out = {}
  for k = 1, #values, 2 do
    local v = values[k]
    local ok = false
    if v then
      local i, c = string.match(v, '^([^|]*)|[^|]*|([^|]*)|')
      ok = c == '' or tonumber(c) < tonumber(i)
    end
    if ok then out[#out + 1] = { v, values[k + 1] or '' } else out[#out + 1] = false end
  end
  return out
end
`;

// One Page's part of listByLastInbound: up to `want` open conversations with
// from < lastInboundAt <= to, strictly after (after_at, after_member), in (score, PSID) order,
// each as PSID, conversation string, ad referral. The conversation keys are built here from
// the PSIDs: they carry the Page's hash tag, so they live in the index's slot (Cluster-safe).
// A member whose conversation is gone (evicted) or closed is dropped from the index on the way.
const LIST = script(`
local index = KEYS[1]        -- the Page's window index
local conv_prefix = ARGV[1]  -- the Page's conversation keys up to the PSID: 'P c:{pageId}:'
local ad_prefix = ARGV[2]    -- the same for the ad-referral keys: 'P a:{pageId}:'
local from = ARGV[3]         -- exclusive lower bound on the score, epoch ms
local to = tonumber(ARGV[4]) -- inclusive upper bound on the score, epoch ms
local after_at = ARGV[5]     -- resume after this score ('' from the start) ...
local after_member = ARGV[6] -- ... and, at that score, after this PSID
local want = tonumber(ARGV[7]) -- at most this many entries
${LIST_FN}
local start = start_rank(index, from, after_at, after_member)
local out, n = {}, 0
while n < want do
  local batch = redis.call('ZRANGE', index, start, start + want - n - 1, 'WITHSCORES')
  if #batch == 0 then break end
  local members, keys = {}, {}
  for j = 1, #batch, 2 do
    if tonumber(batch[j + 1]) > to then break end
    members[#members + 1] = batch[j]
    keys[#keys + 1] = conv_prefix .. batch[j]
    keys[#keys + 1] = ad_prefix .. batch[j]
  end
  if #members == 0 then break end
  local removed = 0
  for j, found in ipairs(read_open(keys)) do
    if found then
      n = n + 1
      out[#out + 1] = members[j]
      out[#out + 1] = found[1]
      out[#out + 1] = found[2]
    else
      redis.call('ZREM', index, members[j])
      removed = removed + 1
    end
  end
  if #members < #batch / 2 then break end
  start = start + #batch / 2 - removed
end
return out
`);

// listByLastInbound over several Pages in one call, where that is allowed (a standalone
// server: no slots). A k-way merge over a binary heap of the Pages' next entries (time, then
// key in byte order); each Page is read in small batches. Reads about `limit` entries plus
// a batch per Page. Each entry: conversation key, conversation string, ad referral.
const LIST_ALL = script(`
local indexes = KEYS            -- the Pages' window indexes, 'P i:{pageId}'
local prefix = ARGV[1]          -- the store's key prefix P
local from = ARGV[2]            -- exclusive lower bound on lastInboundAt, epoch ms
local to_text = ARGV[3]         -- inclusive upper bound on lastInboundAt, epoch ms
local after_at = ARGV[4]        -- resume after this time ('' from the start) ...
local after_key = ARGV[5]       -- ... and, at that time, after this conversation key
local limit = tonumber(ARGV[6]) -- at most this many entries
local to = tonumber(to_text)
${LIST_FN}
local batch = math.max(2, math.ceil(2 * limit / #indexes))
-- A Page's head: its next entry (member, score, key), read from a buffered batch; nil at the end.
local function advance(h)
  if h.pos > #h.buf then
    -- The first batch of a Page without a cursor was read by score: its rank is known only now.
    if h.next == nil then h.next = redis.call('ZCOUNT', h.index, '-inf', from) + #h.buf / 2 - h.removed end
    h.buf = redis.call('ZRANGE', h.index, h.next, h.next + batch - 1, 'WITHSCORES')
    h.next = h.next + #h.buf / 2
    h.pos = 1
    if #h.buf == 0 then h.member = nil return end
  end
  local score = tonumber(h.buf[h.pos + 1])
  if score > to then h.member = nil return end
  h.member, h.score, h.key = h.buf[h.pos], score, h.page .. ':' .. h.buf[h.pos]
  h.pos = h.pos + 2
end
local function less(a, b)
  return a.score < b.score or (a.score == b.score and not le(b.key, a.key))
end
local heap = {}
local function sift_down(k)
  local n = #heap
  while true do
    local l, r, m = 2 * k, 2 * k + 1, k
    if l <= n and less(heap[l], heap[m]) then m = l end
    if r <= n and less(heap[r], heap[m]) then m = r end
    if m == k then return end
    heap[k], heap[m] = heap[m], heap[k]
    k = m
  end
end
for p = 1, #indexes do
  local index = indexes[p]
  local page = string.sub(index, #prefix + 4, -2)
  -- The cursor, seen from this Page: its own key resumes after the PSID; another Page's
  -- members at after_at all come after it when its key sorts before this Page's keys.
  local after_member = ''
  if after_at ~= '' then
    local own = page .. ':'
    if string.sub(after_key, 1, #own) == own then after_member = string.sub(after_key, #own + 1)
    elseif not le(after_key, own) then after_member = string.char(255) end
  end
  local h = { index = index, page = page, buf = {}, pos = 1, removed = 0 }
  h.conv, h.ad = prefix .. 'c:{' .. page .. '}:', prefix .. 'a:{' .. page .. '}:'
  if after_at == '' then
    -- One call: the first batch by score.
    h.buf = redis.call('ZRANGE', index, '(' .. from, to_text, 'BYSCORE', 'LIMIT', 0, batch, 'WITHSCORES')
  else
    h.next = start_rank(index, from, after_at, after_member)
  end
  advance(h)
  if h.member then heap[#heap + 1] = h end
end
for k = math.floor(#heap / 2), 1, -1 do sift_down(k) end
local function pop(h)
  advance(h)
  if not h.member then
    heap[1] = heap[#heap]
    heap[#heap] = nil
  end
  if #heap > 0 then sift_down(1) end
end
-- Take the next entries in order, then read them all in one MGET; the rare one found closed
-- or gone is dropped from its index, and the loop takes more.
local out, n = {}, 0
while n < limit and #heap > 0 do
  local taken, keys = {}, {}
  while #taken < limit - n and #heap > 0 do
    local h = heap[1]
    taken[#taken + 1] = { h = h, member = h.member, key = h.key }
    keys[#keys + 1] = h.conv .. h.member
    keys[#keys + 1] = h.ad .. h.member
    pop(h)
  end
  for j, found in ipairs(read_open(keys)) do
    local t = taken[j]
    if found then
      n = n + 1
      out[#out + 1] = t.key
      out[#out + 1] = found[1]
      out[#out + 1] = found[2]
    else
      redis.call('ZREM', t.h.index, t.member)
      if t.h.next then t.h.next = t.h.next - 1 else t.h.removed = t.h.removed + 1 end
    end
  end
end
return out
`);

/**
 * The scripts, for tests and for preloading with `SCRIPT LOAD` on every Cluster master.
 * Each entry is `{ lua, sha }` (`sha` = the SHA-1 that EVALSHA uses).
 */
export const REDIS_SCRIPTS: Readonly<Record<string, Script>> = {
  recordInbound: RECORD_INBOUND,
  recordOutbound: RECORD_OUTBOUND,
  markClosed: MARK_CLOSED,
  setPageLinked: SET_PAGE,
  takeToken: TAKE_TOKEN,
  lease: LEASE,
  settle: SETTLE,
  ingest: INGEST,
  readForSend: READ_FOR_SEND,
  recordAdReferral: RECORD_AD_REFERRAL,
  setTagAvailability: SET_TAG,
  delete: DELETE,
  listByLastInbound: LIST,
  listEveryPage: LIST_ALL,
};

/** The Page hash's fields `l`, `t`, `e`, `d` (as HMGET returns them) as a PageState. */
function decodePage([linked, changedAt, errorCode, errorDetail]: (string | null | undefined)[]): PageState | null {
  if (linked === null || linked === undefined || changedAt === null || changedAt === undefined) return null;
  return pageFrom(linked === '1', toMs(changedAt, 'changedAt'), errorCode ?? undefined, errorDetail ?? undefined);
}

/** A stored conversation with its ad-referral instant (the `a:` key, read in the same call). */
function withAdReferral(value: string, ad: string | null | undefined): ConversationState {
  const state = decodeConversation(value);
  if (ad !== null && ad !== undefined) state.adReferralAt = toMs(ad, 'adReferralAt');
  return state;
}

/** The window index's expiry headroom past its newest member: moved about once an hour. */
const HOUR_MS = 3_600_000;

/** Most Pages one LIST_ALL call merges; past it (a script blocks the server), one call per Page. */
const ONE_SCRIPT_MAX_PAGES = 1000;

const isCrossSlot = (error: unknown): boolean =>
  error instanceof Error &&
  typeof error.message === 'string' &&
  /CROSSSLOT|non local key|cross.slot/i.test(error.message);

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
    throw badOption(
      'redisStore needs an ioredis client: redisStore({ client: new Redis(url) })',
      'client',
      'must be an ioredis Redis or Cluster',
    );
  }
  const prefix = options.prefix ?? 'vonage-messenger:';
  if (/[{}]/.test(prefix)) {
    // A brace in the prefix would become the hash tag and put every key in one slot.
    throw badOption('redisStore prefix must not contain { or }', 'prefix', 'must not contain { or }');
  }
  const { ttlMs, dedupeTtlMs, now } = storeTimes(options);
  const dedupeTtl = String(dedupeTtlMs);

  // Every key of one Page shares the hash tag {pageId}, so an inbound webhook's writes (the
  // conversation, its message ids, the Page, the claims and the delivery record, whose ids the
  // SDK starts with {pageId}) run as one script on Redis Cluster too. Meta limits a Page to a
  // few hundred sends per second, far below what one Redis node serves.
  const tagged = (kind: string, key: ConversationKey) => {
    const colon = key.indexOf(':');
    return `${prefix}${kind}:{${key.slice(0, colon)}}${key.slice(colon)}`;
  };
  const convKey = (key: ConversationKey) => tagged('c', key);
  const seenKey = (key: ConversationKey) => tagged('m', key);
  const adKey = (key: ConversationKey) => tagged('a', key);
  const pageKey = (pageId: string) => `${prefix}p:{${pageId}}`;
  const tagsKey = (pageId: string) => `${prefix}g:{${pageId}}`;
  const leaseKeepMs = (ttl: number) => String(Math.max(ttl, dedupeTtlMs));
  const decodeLease = (reply: [string, number, number]): DeliveryLease => ({
    state: reply[0] as DeliveryLease['state'],
    attempt: Number(reply[1]),
    retryAfterMs: Number(reply[2]),
  });

  // --- The window index (listByLastInbound): one sorted set per Page, and the Page registry.
  const windowIndex = windowIndexOption(options, 'redisStore');
  const indexKey = (pageId: string) => `${prefix}i:{${pageId}}`;
  const registryKey = `${prefix}pages`;
  /** The PSID, the conversation's member in its Page's index; '' tells the scripts there is none. */
  const memberOf = (key: ConversationKey) => (windowIndex ? key.slice(key.indexOf(':') + 1) : '');
  /** Pages this process has put in the registry. */
  const registered = new Set<string>();
  /**
   * Runs a script that may add to a Page's index, and puts the Page in the registry the first
   * time this process sees it (beside the script, so it costs no extra wait) and whenever the
   * script reports that it created the index (`reply[createdAt] === 1`: after it expired, or
   * when another process's registration was lost).
   */
  async function indexing<T extends unknown[]>(pageId: string, reply: Promise<T>, createdAt: number): Promise<T> {
    if (!windowIndex) return reply;
    const first = !registered.has(pageId);
    const [result] = await Promise.all([reply, first ? client.sadd(registryKey, pageId) : undefined]);
    if (first) registered.add(pageId);
    else if (result[createdAt] === 1) await client.sadd(registryKey, pageId);
    return result;
  }
  /** One Page's part of a listing: the LIST script, decoded. */
  const listPage = async (
    pageId: string,
    from: number,
    to: number,
    after: { at: number; key: ConversationKey } | undefined,
    want: number,
  ): Promise<InboundEntry[]> => {
    const reply = (await run(
      LIST,
      [indexKey(pageId)],
      [
        `${prefix}c:{${pageId}}:`,
        `${prefix}a:{${pageId}}:`,
        String(from),
        String(to),
        after === undefined ? '' : String(after.at),
        after === undefined ? '' : after.key.slice(after.key.indexOf(':') + 1),
        String(want),
      ],
    )) as string[];
    const entries: InboundEntry[] = [];
    for (let i = 0; i < reply.length; i += 3) {
      entries.push({
        key: `${pageId}:${reply[i]}` as ConversationKey,
        state: withAdReferral(reply[i + 1] as string, reply[i + 2] === '' ? null : reply[i + 2]),
      });
    }
    return entries;
  };
  /**
   * On a standalone server (no slots), every Page in one LIST_ALL call: one round trip, where
   * a Cluster needs one per Page (listAcrossPages). A CROSSSLOT refusal turns it off.
   */
  let oneScript = client.isCluster !== true;
  const listEveryPage = async (pages: string[], from: number, range: InboundRange): Promise<InboundEntry[]> => {
    const reply = (await run(LIST_ALL, pages.map(indexKey), [
      prefix,
      String(from),
      String(range.to),
      range.after === undefined ? '' : String(range.after.at),
      range.after?.key ?? '',
      String(range.limit),
    ])) as string[];
    const entries: InboundEntry[] = [];
    for (let i = 0; i < reply.length; i += 3) {
      entries.push({
        key: reply[i] as ConversationKey,
        state: withAdReferral(reply[i + 1] as string, reply[i + 2] === '' ? null : reply[i + 2]),
      });
    }
    return entries;
  };
  // --- end of the window index

  async function run(s: Script, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await client.evalsha(s.sha, keys.length, ...keys, ...args);
    } catch (error) {
      // First use on this server (or after SCRIPT FLUSH / failover): EVAL also caches it.
      if (isNoScript(error)) return client.eval(s.lua, keys.length, ...keys, ...args);
      throw error;
    }
  }

  const store: RedisStore = {
    async get(key) {
      // One MGET: both keys share the conversation's hash slot.
      const [value, ad] = await client.mget(convKey(key), adKey(key));
      return value === null || value === undefined ? null : withAdReferral(value, ad);
    },

    async recordAdReferral(key, at) {
      await run(RECORD_AD_REFERRAL, [convKey(key), adKey(key)], [String(at), String(at + ttlMs)]);
    },

    async setTagAvailability(pageId, tag, available, at, details) {
      const value: Record<string, unknown> = { a: available ? 1 : 0, t: at };
      if (!available && details?.errorCode !== undefined) value.e = details.errorCode;
      if (!available && details?.errorDetail !== undefined) value.d = details.errorDetail;
      await run(SET_TAG, [tagsKey(pageId)], [tag, String(at), JSON.stringify(value)]);
    },

    async getTagAvailability(pageId) {
      const stored = await client.hgetall(tagsKey(pageId));
      return tagsFrom(Object.entries(stored).map(([tag, json]) => [tag, JSON.parse(json) as StoredTag]));
    },

    async recordInbound(key, at, messageUuid) {
      const t = now();
      const reply = await indexing(
        key.slice(0, key.indexOf(':')),
        run(
          RECORD_INBOUND,
          [convKey(key), seenKey(key), indexKey(key.slice(0, key.indexOf(':')))],
          [
            String(at),
            messageUuid,
            String(at + ttlMs),
            String(t),
            String(t + dedupeTtlMs),
            dedupeTtl,
            memberOf(key),
            String(t - ttlMs),
            String(at + ttlMs + HOUR_MS),
          ],
        ) as Promise<[number, string | null, number]>,
        2,
      );
      // A duplicate of a message whose conversation is gone (expired) reports the message itself.
      const state =
        reply[1] === null ? { lastInboundAt: at, lastInboundUuid: messageUuid } : decodeConversation(reply[1]);
      return { state, duplicate: reply[0] === 1 };
    },

    async recordOutbound(key, at) {
      await run(RECORD_OUTBOUND, [convKey(key)], [String(at)]);
    },

    async markClosed(key, at, reason) {
      await run(
        MARK_CLOSED,
        [convKey(key), indexKey(key.slice(0, key.indexOf(':')))],
        [String(at), reason, memberOf(key)],
      );
    },

    async getPage(pageId: PageId) {
      return decodePage(await client.hmget(pageKey(pageId), 'l', 't', 'e', 'd'));
    },

    async readForSend(pageId, key) {
      const [page, conversation, ad] = (await run(READ_FOR_SEND, [pageKey(pageId), convKey(key), adKey(key)], [])) as [
        (string | null)[],
        string | null,
        string | null,
      ];
      return { page: decodePage(page), conversation: conversation === null ? null : withAdReferral(conversation, ad) };
    },

    async setPageLinked(pageId, linked, at, details) {
      const code = linked ? undefined : details?.errorCode;
      const detail = linked ? undefined : details?.errorDetail;
      await run(
        SET_PAGE,
        [pageKey(pageId)],
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
      return (await client.set(`${prefix}k:${id}`, '1', 'PX', ttl, 'NX')) === 'OK';
    },

    async lease(id, ttl, at) {
      const reply = (await run(LEASE, [`${prefix}d:${id}`], [String(at), String(at + ttl), leaseKeepMs(ttl)])) as [
        string,
        number,
        number,
      ];
      return decodeLease(reply);
    },

    async settle(id, attempt, ok) {
      await run(SETTLE, [`${prefix}d:${id}`], [String(attempt), ok ? '1' : '0', String(dedupeTtlMs)]);
    },

    async ingest(input) {
      const { now: at0, replay, message, status, lease } = input;
      if (message === undefined && status === undefined) {
        // A Dispatch report: only the token, in its own slot.
        const first = (await client.set(`${prefix}k:${replay.id}`, '1', 'PX', replay.ttlMs, 'NX')) === 'OK';
        if (!first) return { replayed: true, duplicate: false, applied: false };
        return lease === undefined
          ? { replayed: false, duplicate: false, applied: false }
          : { replayed: false, duplicate: false, applied: false, lease: await this.lease(lease.id, lease.ttlMs, at0) };
      }
      const key = (message ?? status)?.key as ConversationKey;
      const page = (message ?? status)?.pageId as PageId;
      // The INGEST script's ARGV, 1-based in Lua: see the named locals at its top.
      const args = new Array<string>(20).fill('');
      args[17] = memberOf(key);
      args[1] = String(replay.ttlMs);
      args[2] = String(at0);
      if (message !== undefined) {
        args[0] = 'm';
        args[3] = String(message.at);
        args[4] = message.messageUuid;
        args[5] = String(message.at + ttlMs);
        args[6] = String(now() + dedupeTtlMs);
        args[7] = dedupeTtl;
        args[18] = String(now() - ttlMs);
        args[19] = String(message.at + ttlMs + HOUR_MS);
      } else if (status !== undefined) {
        args[0] = 's';
        args[3] = String(status.at);
        const effect = status.effect;
        if (effect?.kind === 'close') {
          args[8] = 'c';
          args[9] = effect.reason;
        } else if (effect?.kind === 'unlink') {
          args[8] = effect.ifLinked ? 'U' : 'u';
          const { errorCode, errorDetail } = effect.details;
          args[10] = errorCode === undefined ? '0' : '1';
          args[11] = errorCode ?? '';
          args[12] = errorDetail === undefined ? '0' : '1';
          args[13] = errorDetail ?? '';
        }
        args[14] = String(status.dedupe.ttlMs);
      }
      if (lease !== undefined) {
        args[15] = String(at0 + lease.ttlMs);
        args[16] = leaseKeepMs(lease.ttlMs);
      }
      const script = run(
        INGEST,
        [
          `${prefix}k:${replay.id}`,
          convKey(key),
          seenKey(key),
          pageKey(page),
          `${prefix}k:${status?.dedupe.id ?? replay.id}`,
          `${prefix}d:${lease?.id ?? replay.id}`,
          indexKey(page),
        ],
        args,
      ) as Promise<[number, number?, (string | null)?, number?, ([string, number, number] | null)?, number?]>;
      const reply = message === undefined ? await script : await indexing(page, script, 5);
      if (reply[0] === 1) return { replayed: true, duplicate: false, applied: false };
      const result: IngestResult = { replayed: false, duplicate: reply[1] === 1, applied: reply[3] === 1 };
      if (message !== undefined) {
        const stored = reply[2];
        result.state =
          stored === null || stored === undefined
            ? { lastInboundAt: message.at, lastInboundUuid: message.messageUuid }
            : decodeConversation(stored);
      }
      if (reply[4] !== null && reply[4] !== undefined) result.lease = decodeLease(reply[4]);
      return result;
    },

    async takeToken(bucket, ratePerSecond, burst, at) {
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
      // The keys share the {pageId} hash slot, so one script works on Cluster too.
      await run(
        DELETE,
        [convKey(key), seenKey(key), adKey(key), indexKey(key.slice(0, key.indexOf(':')))],
        [memberOf(key)],
      );
    },

    async listByLastInbound(range) {
      // Past the ttl a conversation has expired (its key too, on the Redis clock): never listed.
      const from = Math.max(range.from, now() - ttlMs);
      const pages = range.pageId === undefined ? await client.smembers(registryKey) : [range.pageId];
      if (pages.length > 1 && pages.length <= ONE_SCRIPT_MAX_PAGES && oneScript) {
        try {
          return await listEveryPage(pages, from, range);
        } catch (error) {
          // A proxy in front of several shards (the slots a standalone client cannot see).
          if (!isCrossSlot(error)) throw error;
          oneScript = false;
        }
      }
      return listAcrossPages(pages, { ...range, from }, (page, pageFrom, after, want) =>
        listPage(page, pageFrom, range.to, after, want),
      );
    },

    async close() {
      // The client belongs to the caller: it may serve other code, so it stays open.
    },
  };
  if (!windowIndex) delete store.listByLastInbound;
  return checkedStore(store);
}
