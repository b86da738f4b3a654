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
 * - `P i:{pageId}:<hour>` the Page's window index (behind `listByLastInbound`), one sorted set
 *   per hour of `lastInboundAt`: the PSIDs of its open conversations whose last message came
 *   in that hour, score = `lastInboundAt`, changed by the same scripts as the conversation;
 *   each expires a ttl after its hour, with the last of its members
 * - `P pages` the set of Page IDs that have an index, so a query over every Page knows where
 *   to look: added to by a process once per Page and hour, not per message, so no key is
 *   written by the whole fleet's traffic; it only grows (a Page ID is a few bytes, and an
 *   entry without an index costs empty reads)
 *
 * Changed in 0.2: conversations were tagged `{pageId:psid}`; see the CHANGELOG.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { ConversationKey, PageId } from '../ids.js';
import { checkedStore } from './checked.js';
import {
  badOption,
  checkStoreOptions,
  decodeConversation,
  listAcrossPages,
  pageFrom,
  retryAfter,
  type StoredTag,
  shown,
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
  prefix?: string | undefined;
  /**
   * A conversation is forgotten this long after the user's last message. Default 8 days:
   * HUMAN_AGENT's 7 days plus one.
   */
  ttlMs?: number | undefined;
  /** How long a `message_uuid` is remembered as seen. Default 48 h (Vonage retries for 24 h). */
  dedupeTtlMs?: number | undefined;
  /** Clock for dedupe bookkeeping. Default `Date.now`. Key expiry runs on the Redis clock. */
  now?: (() => number) | undefined;
  /**
   * Keep the window index behind `listByLastInbound` (`messenger.expiringSoon`, the window
   * watcher). Default true. False saves its bytes and writes (docs/performance.md); the store
   * then has no `listByLastInbound`.
   */
  windowIndex?: boolean | undefined;
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
// The window index: a conversation's PSID is in one of its Page's hour buckets, the sorted
// set `index:<hour of lastInboundAt>` (score = lastInboundAt), while it is open, i.e. not
// closed by the platform since the user's latest message (the listByLastInbound contract,
// types.ts). Small buckets stay compact listpacks, so a message costs a ZREM from the old
// hour and a ZADD to the new one (or one ZADD within the same hour) instead of a move in one
// large skiplist. A bucket expires an hour plus the conversation ttl after its hour ends:
// every member's conversation has expired by then, so nothing needs trimming.
// `member` is '' when the store keeps no index.
const BUCKET_FN = `
local function bucket_of(at) return math.floor(tonumber(at) / 3600000) end
local function bucket_key(index, b) return index .. ':' .. string.format('%d', b) end
`;
const INDEX_FN = `${BUCKET_FN}
local function index_inbound(index, member, old_at, at, v, ttl)
  local old = false
  if old_at then old = bucket_key(index, bucket_of(old_at)) end
  local c = string.match(v, '^[^|]*|[^|]*|([^|]*)|')
  if c ~= '' and tonumber(c) >= tonumber(at) then
    if old then redis.call('ZREM', old, member) end
    return
  end
  local b = bucket_of(at)
  local key = bucket_key(index, b)
  if old and old ~= key then redis.call('ZREM', old, member) end
  if redis.call('ZADD', key, at, member) == 1 then
    redis.call('PEXPIREAT', key, string.format('%d', (b + 1) * 3600000 + ttl))
  end
end
`;
const RECORD_INBOUND_FN = `
local function record_inbound(conv, seen, at, uuid, conv_until, now, seen_until, seen_ttl, index, member)
  redis.call('ZREMRANGEBYSCORE', seen, '-inf', now)
  if redis.call('ZADD', seen, 'NX', seen_until, uuid) == 0 then
    return {1, redis.call('GET', conv)}
  end
  redis.call('PEXPIRE', seen, seen_ttl)
  local v = redis.call('GET', conv)
  local old_at = false
  if v then
    local i, o, c, r = string.match(v, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|')
    if tonumber(at) <= tonumber(i) then return {0, v} end
    old_at = i
    v = at .. '|' .. o .. '|' .. c .. '|' .. r .. '|' .. uuid
  else
    v = at .. '||||' .. uuid
  end
  redis.call('SET', conv, v, 'PXAT', conv_until)
  if member ~= '' and tonumber(conv_until) > tonumber(now) then
    index_inbound(index, member, old_at, at, v, tonumber(conv_until) - tonumber(at))
  end
  return {0, v}
end
`;
const RECORD_INBOUND = script(`
local conv = KEYS[1]        -- the conversation string
local seen = KEYS[2]        -- sorted set of its message ids (score = remembered until)
local index = KEYS[3]       -- the Page's window index: its hour buckets are index:<hour>
local at = ARGV[1]          -- the message's time, epoch ms
local uuid = ARGV[2]        -- its message_uuid
local conv_until = ARGV[3]  -- when the conversation expires, epoch ms
local now = ARGV[4]         -- the store's clock, epoch ms (older ids are dropped)
local seen_until = ARGV[5]  -- until when this id is remembered, epoch ms
local seen_ttl = ARGV[6]    -- ms the id set is kept after this write
local member = ARGV[7]      -- the PSID in the window index; '' when the store keeps none
${INDEX_FN}${RECORD_INBOUND_FN}
return record_inbound(conv, seen, at, uuid, conv_until, now, seen_until, seen_ttl, index, member)
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
  local i = string.match(head, '^[^|]*')
  if member ~= '' and tonumber(at) >= tonumber(i) then redis.call('ZREM', bucket_key(index, bucket_of(i)), member) end
  return 1
end
`;
const MARK_CLOSED = script(`
local conv = KEYS[1]    -- the conversation string
local index = KEYS[2]   -- the Page's window index: its hour buckets are index:<hour>
local at = ARGV[1]      -- when it closed, epoch ms
local reason = ARGV[2]  -- a ClosedReason
local member = ARGV[3]  -- the PSID in the window index; '' when the store keeps none
${BUCKET_FN}${MARK_CLOSED_FN}
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

// A reply lost on the wire (a reconnect) makes ioredis send the same call again
// (autoResendUnfulfilledCommands, on by default). A claim holds the id of the call that took it,
// so that call's copy is told what the call itself was: INGEST keeps its reply in its replay
// claim (replayed, a 401, would lose a genuine webhook), CLAIM answers true again.
const RESENT_FN = `
local function resent(claim, call_id)
  local held = redis.call('GET', claim)
  if held and string.sub(held, 1, #call_id + 1) == call_id .. '|' then return cjson.decode(string.sub(held, #call_id + 2)) end
  return false
end
local function remember(claim, call_id, reply)
  redis.call('SET', claim, call_id .. '|' .. cjson.encode(reply), 'KEEPTTL')
  return reply
end
`;

const CLAIM = script(`
local claim = KEYS[1]     -- the one-time claim
local ttl = ARGV[1]       -- ms it lasts
local call_id = ARGV[2]   -- this call's own id (see RESENT_FN)
${RESENT_FN}
if redis.call('SET', claim, call_id .. '|1', 'PX', ttl, 'NX') then return 1 end
return resent(claim, call_id) or 0
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
local index = KEYS[7]         -- the Page's window index: its hour buckets are index:<hour>
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
local call_id = ARGV[19]      -- this call's own id (see RESENT_FN)
${INDEX_FN}${RECORD_INBOUND_FN}${MARK_CLOSED_FN}${SET_PAGE_FN}${LEASE_FN}${RESENT_FN}
if not redis.call('SET', replay_claim, call_id, 'PX', replay_ttl, 'NX') then
  return resent(replay_claim, call_id) or {1}
end
local duplicate, state, applied = 0, false, 0
if kind == 'm' then
  local r = record_inbound(conv, seen, at, uuid, conv_until, now, seen_until, seen_ttl, index, member)
  duplicate, state = r[1], r[2]
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
return remember(replay_claim, call_id, {0, duplicate, state, applied, l})
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
local index = KEYS[4]   -- the Page's window index: its hour buckets are index:<hour>
local member = ARGV[1]  -- the PSID in the window index; '' when the store keeps none
${BUCKET_FN}
if member ~= '' then
  local v = redis.call('GET', conv)
  if v then redis.call('ZREM', bucket_key(index, bucket_of(string.match(v, '^[^|]*'))), member) end
end
redis.call('DEL', conv, seen, referral)
return 1
`);

// The reads of the window index, shared by LIST (one Page) and LIST_ALL (every Page).
// le: byte order of two strings (Lua's < follows the server's locale). read_open: the
// conversation and its ad referral ('' none) when it exists and is open, else false.
// page_cursor / page_next: one Page's members with from < score <= to, strictly after
// (after_at, after_member) ('' after_at: no cursor; '' after_member: every member at after_at
// comes after it), in (score, member) order, read `size` at a time from the hour buckets in
// turn (a missing bucket is an empty read). drop: removes a member found closed or gone, and
// keeps the cursor's offset in its bucket right.
const LIST_FN = `${BUCKET_FN}
local function le(a, b)
  for k = 1, math.min(#a, #b) do
    local x, y = string.byte(a, k), string.byte(b, k)
    if x ~= y then return x < y end
  end
  return #a <= #b
end
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
local function page_cursor(index, from, to, after_at, after_member, size)
  local c = { index = index, min = '(' .. from, max = to, size = size, offset = 0, buf = {}, pos = 1 }
  c.b, c.last = bucket_of(tonumber(from) + 1), bucket_of(to)
  if after_at ~= '' and tonumber(after_at) > tonumber(from) then
    c.min, c.tie, c.after_member = after_at, tonumber(after_at), after_member
    c.b = bucket_of(after_at)
  end
  return c
end
local function page_next(c)
  while true do
    if c.pos > #c.buf then
      if c.b > c.last then return nil end
      c.key = bucket_key(c.index, c.b)
      c.buf = redis.call('ZRANGE', c.key, c.min, c.max, 'BYSCORE', 'LIMIT', c.offset, c.size, 'WITHSCORES')
      c.pos = 1
      if #c.buf / 2 < c.size then c.b, c.offset = c.b + 1, 0 else c.offset = c.offset + c.size end
    else
      local member, score = c.buf[c.pos], tonumber(c.buf[c.pos + 1])
      c.pos = c.pos + 2
      if not (c.tie == score and le(member, c.after_member)) then return member, score, c.key end
    end
  end
end
local function drop(c, key, member)
  redis.call('ZREM', key, member)
  if c.offset > 0 and key == bucket_key(c.index, c.b) then c.offset = c.offset - 1 end
end
`;

// One Page's part of listByLastInbound: up to `want` open conversations with
// from < lastInboundAt <= to, strictly after (after_at, after_member), in (score, PSID) order,
// each as PSID, conversation string, ad referral. The conversation keys are built here from
// the PSIDs: they carry the Page's hash tag, so they live in the index's slot (Cluster-safe).
// A member whose conversation is gone (evicted) or closed is dropped from the index on the way.
const LIST = script(`
local index = KEYS[1]        -- the Page's window index: its hour buckets are index:<hour>
local conv_prefix = ARGV[1]  -- the Page's conversation keys up to the PSID: 'P c:{pageId}:'
local ad_prefix = ARGV[2]    -- the same for the ad-referral keys: 'P a:{pageId}:'
local from = ARGV[3]         -- exclusive lower bound on the score, epoch ms
local to = ARGV[4]           -- inclusive upper bound on the score, epoch ms
local after_at = ARGV[5]     -- resume after this score ('' from the start) ...
local after_member = ARGV[6] -- ... and, at that score, after this PSID
local want = tonumber(ARGV[7]) -- at most this many entries
${LIST_FN}
local c = page_cursor(index, from, to, after_at, after_member, want)
local out, n = {}, 0
while n < want do
  local taken, keys = {}, {}
  while #taken < want - n do
    local member, _, key = page_next(c)
    if not member then break end
    taken[#taken + 1] = { member, key }
    keys[#keys + 1] = conv_prefix .. member
    keys[#keys + 1] = ad_prefix .. member
  end
  if #taken == 0 then break end
  for j, found in ipairs(read_open(keys)) do
    local t = taken[j]
    if found then
      n = n + 1
      out[#out + 1] = t[1]
      out[#out + 1] = found[1]
      out[#out + 1] = found[2]
    else
      drop(c, t[2], t[1])
    end
  end
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
local to = ARGV[3]              -- inclusive upper bound on lastInboundAt, epoch ms
local after_at = ARGV[4]        -- resume after this time ('' from the start) ...
local after_key = ARGV[5]       -- ... and, at that time, after this conversation key
local limit = tonumber(ARGV[6]) -- at most this many entries
${LIST_FN}
local batch = math.max(2, math.ceil(2 * limit / #indexes))
-- A Page's head: its next entry (member, score, key, bucket); member nil at the end.
local function advance(h)
  h.member, h.score, h.bucket = page_next(h.c)
  if h.member then h.key = h.page .. ':' .. h.member end
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
  local h = { page = page, c = page_cursor(index, from, to, after_at, after_member, batch) }
  h.conv, h.ad = prefix .. 'c:{' .. page .. '}:', prefix .. 'a:{' .. page .. '}:'
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
    taken[#taken + 1] = { h = h, member = h.member, key = h.key, bucket = h.bucket }
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
      drop(t.h.c, t.bucket, t.member)
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
  claim: CLAIM,
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

/**
 * A script's integer reply 1. ioredis hands integers back as strings when the client was made
 * with `stringNumbers: true`, so a reply is compared by value, not by type.
 */
const isOne = (value: unknown): boolean => value === 1 || value === '1';

/** A call's own id, for a claim to know its caller's copy again (RESENT_FN). */
const callId = (): string => randomBytes(9).toString('base64url');

/** An integer as ioredis returns it: a number, or a string under `stringNumbers: true`. */
type IntegerReply = number | string;
/** The lease scripts' reply: state, attempt, ms until the lease ends. */
type LeaseReply = [string, IntegerReply, IntegerReply];

/** The `keyPrefix` the ioredis client adds to every key it sends ('' without one). */
function keyPrefixOf(client: Redis | Cluster): string {
  const keyPrefix: unknown = client.options?.keyPrefix;
  if (keyPrefix === undefined || keyPrefix === null || keyPrefix === '') return '';
  if (typeof keyPrefix === 'string') return keyPrefix;
  throw badOption('redisStore needs the client keyPrefix as a string', 'client', 'keyPrefix must be a string');
}

/** The window index's bucket: one sorted set per Page and hour of `lastInboundAt`. */
const HOUR_MS = 3_600_000;

/** Most Pages one LIST_ALL call merges; past it (a script blocks the server), one call per Page. */
const ONE_SCRIPT_MAX_PAGES = 1000;

const isCrossSlot = (error: unknown): boolean =>
  error instanceof Error &&
  typeof error.message === 'string' &&
  /CROSSSLOT|non local key|cross.slot/i.test(error.message);

const isNoScript = (error: unknown): boolean =>
  error instanceof Error && typeof error.message === 'string' && error.message.startsWith('NOSCRIPT');

const REDIS_OPTIONS: Readonly<Record<keyof RedisStoreOptions, true>> = {
  client: true,
  prefix: true,
  ttlMs: true,
  dedupeTtlMs: true,
  now: true,
  windowIndex: true,
};

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
  checkStoreOptions(options, 'redisStore', REDIS_OPTIONS, 'redisStore({ client: new Redis(url) })');
  const { client } = options;
  if (client === undefined || client === null || typeof (client as Redis).evalsha !== 'function') {
    throw badOption(
      'redisStore needs an ioredis client: redisStore({ client: new Redis(url) })',
      'client',
      'must be an ioredis Redis or Cluster',
    );
  }
  const scaleReads: unknown = (client as Cluster).options?.scaleReads;
  if (client.isCluster === true && scaleReads !== undefined && scaleReads !== 'master') {
    // Replicas lag: a window read right after the webhook that opened it could miss it.
    throw badOption(
      "redisStore needs a Cluster client that reads from masters (scaleReads: 'master', the default); create a separate client for replica reads",
      'client',
      "scaleReads must be 'master'",
    );
  }
  const prefix = options.prefix ?? 'vonage-messenger:';
  if (typeof prefix !== 'string') {
    throw badOption(`redisStore prefix must be a string, got ${shown(prefix)}`, 'prefix', 'must be a string');
  }
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
  const decodeLease = (reply: LeaseReply): DeliveryLease => ({
    state: reply[0] as DeliveryLease['state'],
    attempt: Number(reply[1]),
    retryAfterMs: Number(reply[2]),
  });

  // --- The window index (listByLastInbound): sorted sets per Page and hour, and the Page registry.
  const windowIndex = windowIndexOption(options, 'redisStore');
  /**
   * The listing scripts build conversation keys from PSIDs. ioredis adds a client's `keyPrefix`
   * to the keys it sends, the scripts' KEYS too, but not to keys built inside a script: those
   * get it here, or a listing would find no conversation and drop every index entry it read.
   */
  const scriptPrefix = keyPrefixOf(client) + prefix;
  const indexKey = (pageId: string) => `${prefix}i:{${pageId}}`;
  const registryKey = `${prefix}pages`;
  /** The PSID, the conversation's member in its Page's index; '' tells the scripts there is none. */
  const memberOf = (key: ConversationKey) => (windowIndex ? key.slice(key.indexOf(':') + 1) : '');
  /** The latest hour of `lastInboundAt` each Page was registered for by this process. */
  const registered = new Map<string, number>();
  /**
   * Runs a script that may add to a Page's index and puts the Page in the registry, beside the
   * script (no extra wait), when this process first sees the Page or a message of a later hour
   * than any before: one SADD per Page and hour, so a registry entry that was lost (evicted,
   * flushed) comes back with the next hour's traffic, and late messages add nothing.
   */
  async function indexing<T>(pageId: string, at: number, reply: Promise<T>): Promise<T> {
    if (!windowIndex) return reply;
    const hour = Math.floor(at / HOUR_MS);
    if ((registered.get(pageId) ?? Number.NEGATIVE_INFINITY) >= hour) return reply;
    const [result] = await Promise.all([reply, client.sadd(registryKey, pageId)]);
    registered.set(pageId, hour);
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
        `${scriptPrefix}c:{${pageId}}:`,
        `${scriptPrefix}a:{${pageId}}:`,
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
  const listEveryPage = async (pages: string[], range: InboundRange): Promise<InboundEntry[]> => {
    const reply = (await run(LIST_ALL, pages.map(indexKey), [
      scriptPrefix,
      String(range.from),
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
        at,
        run(
          RECORD_INBOUND,
          [convKey(key), seenKey(key), indexKey(key.slice(0, key.indexOf(':')))],
          [String(at), messageUuid, String(at + ttlMs), String(t), String(t + dedupeTtlMs), dedupeTtl, memberOf(key)],
        ) as Promise<[IntegerReply, string | null]>,
      );
      // A duplicate of a message whose conversation is gone (expired) reports the message itself.
      const state =
        reply[1] === null ? { lastInboundAt: at, lastInboundUuid: messageUuid } : decodeConversation(reply[1]);
      return { state, duplicate: isOne(reply[0]) };
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
      return isOne(await run(CLAIM, [`${prefix}k:${id}`], [String(ttl), callId()]));
    },

    async lease(id, ttl, at) {
      const reply = (await run(
        LEASE,
        [`${prefix}d:${id}`],
        [String(at), String(at + ttl), leaseKeepMs(ttl)],
      )) as LeaseReply;
      return decodeLease(reply);
    },

    async settle(id, attempt, ok) {
      await run(SETTLE, [`${prefix}d:${id}`], [String(attempt), ok ? '1' : '0', String(dedupeTtlMs)]);
    },

    async ingest(input) {
      const { now: at0, replay, message, status, lease } = input;
      if (message === undefined && status === undefined) {
        // A Dispatch report: only the token, in its own slot (a claim, safe against a re-send).
        const first = isOne(await run(CLAIM, [`${prefix}k:${replay.id}`], [String(replay.ttlMs), callId()]));
        if (!first) return { replayed: true, duplicate: false, applied: false };
        return lease === undefined
          ? { replayed: false, duplicate: false, applied: false }
          : { replayed: false, duplicate: false, applied: false, lease: await this.lease(lease.id, lease.ttlMs, at0) };
      }
      const key = (message ?? status)?.key as ConversationKey;
      const page = (message ?? status)?.pageId as PageId;
      // The INGEST script's ARGV, 1-based in Lua: see the named locals at its top.
      const args = new Array<string>(19).fill('');
      args[17] = memberOf(key);
      args[18] = callId();
      args[1] = String(replay.ttlMs);
      args[2] = String(at0);
      if (message !== undefined) {
        args[0] = 'm';
        args[3] = String(message.at);
        args[4] = message.messageUuid;
        args[5] = String(message.at + ttlMs);
        args[6] = String(now() + dedupeTtlMs);
        args[7] = dedupeTtl;
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
      ) as Promise<[IntegerReply, IntegerReply?, (string | null)?, IntegerReply?, (LeaseReply | null)?]>;
      const reply = message === undefined ? await script : await indexing(page, message.at, script);
      if (isOne(reply[0])) return { replayed: true, duplicate: false, applied: false };
      const result: IngestResult = { replayed: false, duplicate: isOne(reply[1]), applied: isOne(reply[3]) };
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
      )) as [IntegerReply, string];
      return isOne(allowed)
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
      // The scripts read one bucket per hour of [from, to]; no conversation can be later than
      // a ttl ahead of this clock (its key would outlive every bucket), so that bounds the walk.
      const t = now();
      const from = Math.max(range.from, t - ttlMs);
      const to = Math.min(range.to, t + ttlMs);
      const pages = range.pageId === undefined ? await client.smembers(registryKey) : [range.pageId];
      if (pages.length > 1 && pages.length <= ONE_SCRIPT_MAX_PAGES && oneScript) {
        try {
          return await listEveryPage(pages, { ...range, from, to });
        } catch (error) {
          // A proxy in front of several shards (the slots a standalone client cannot see).
          if (!isCrossSlot(error)) throw error;
          oneScript = false;
        }
      }
      return listAcrossPages(pages, { ...range, from }, (page, pageFrom, after, want) =>
        listPage(page, pageFrom, to, after, want),
      );
    },

    async close() {
      // The client belongs to the caller: it may serve other code, so it stays open.
    },
  };
  if (!windowIndex) delete store.listByLastInbound;
  return checkedStore(store);
}
