import fc from 'fast-check';
import type { Redis, RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { type ConversationKey, conversationKey, pageId, psid } from '../../src/ids.js';
import { createMessenger } from '../../src/messenger.js';
import { memoryStore } from '../../src/store/memory.js';
import { REDIS_SCRIPTS, redisStore } from '../../src/store/redis.js';
import type { InboundEntry, InboundRange, SessionStore } from '../../src/store/types.js';
import { describeSessionStore } from '../../src/testing/conformance.js';
import { signWebhook } from '../../src/testing/sign.js';
import { createWebhookLayer } from '../../src/webhooks/index.js';
import { startFakeApi } from '../send/fake-api.js';
import { type TcpProxy, tcpProxy } from './proxy.js';
import { connectRedis, dropRedisPrefix, runId } from './services.js';

const prefix = `vm-test-${runId()}:`;
let client: Redis;

/**
 * Client settings apps use, each on a client of its own with its own key space: a keyPrefix
 * (apps sharing one Redis; the store's keys get both), stringNumbers (every integer reply
 * then arrives as a string), enableAutoPipelining.
 */
const settings = [
  ['keyPrefix', { keyPrefix: `vm-kp-${runId()}:` }],
  ['stringNumbers', { stringNumbers: true }],
  ['enableAutoPipelining', { enableAutoPipelining: true }],
] as const satisfies readonly (readonly [string, RedisOptions])[];
const variants = settings.map(([name, options]) => ({
  name,
  options,
  prefix: `vm-test-${runId()}:`,
  client: undefined as Redis | undefined,
}));

beforeAll(async () => {
  client = await connectRedis();
  for (const variant of variants) variant.client = await connectRedis(variant.options);
});
afterAll(async () => {
  await dropRedisPrefix(client, prefix);
  for (const variant of variants) {
    // The unprefixed client sees each key under its full name.
    await dropRedisPrefix(
      client,
      `${'keyPrefix' in variant.options ? variant.options.keyPrefix : ''}${variant.prefix}`,
    );
    variant.client?.disconnect();
  }
  client.disconnect();
});

describeSessionStore('redisStore', () => redisStore({ client, prefix }));
for (const variant of variants) {
  describeSessionStore(`redisStore, a client with ${variant.name}`, () =>
    redisStore({ client: variant.client as Redis, prefix: variant.prefix }),
  );
}

const key = (page: string, user: string) => conversationKey(pageId(page), psid(user));
const HOUR = 3_600_000;
/** The store's key for a conversation (or its message ids): tagged by Page. */
const tagged = (kind: 'c' | 'm', k: string) => `${prefix}${kind}:{${k.split(':')[0]}}:${k.split(':')[1]}`;
/** The window index bucket holding a conversation whose last message came at `at`. */
const bucket = (page: string, at: number) => `${prefix}i:{${page}}:${Math.floor(at / HOUR)}`;

/**
 * Counts the client calls the store makes, to prove one round trip per operation
 * (`withScript`: an EVALSHA is recorded as its script's SHA-1).
 */
function counting(target: Redis, withScript = false): { client: Redis; calls: string[] } {
  const calls: string[] = [];
  const proxy = new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(withScript && prop === 'evalsha' ? String(args[0]) : String(prop));
        return (value as (...a: unknown[]) => unknown).apply(obj, args);
      };
    },
  });
  return { client: proxy, calls };
}

describe('redisStore on Redis', () => {
  it('puts a conversation, its message ids and its Page under one {pageId} hash tag', async () => {
    const store = redisStore({ client, prefix });
    const k = key('1001', '2002');
    const t = Date.now();
    await store.recordInbound(k, t, 'm-1');
    await store.setPageLinked(pageId('1001'), true, Date.now());
    const keys = await client.keys(`${prefix}*{1001}*`);
    expect(keys.sort()).toEqual([
      `${prefix}c:{1001}:2002`,
      bucket('1001', t),
      `${prefix}m:{1001}:2002`,
      `${prefix}p:{1001}`,
    ]);
  });

  it('expires a conversation ttlMs after the last inbound message, and message ids after dedupeTtlMs', async () => {
    const ttlMs = 10 * HOUR;
    const dedupeTtlMs = 2 * HOUR;
    const store = redisStore({ client, prefix, ttlMs, dedupeTtlMs });
    const k = key('1002', '2002');
    const at = Date.now() - HOUR;
    await store.recordInbound(k, at, 'm-1');
    const convTtl = await client.pttl(tagged('c', k));
    expect(convTtl).toBeGreaterThan(ttlMs - HOUR - 60_000);
    expect(convTtl).toBeLessThanOrEqual(ttlMs - HOUR);
    const seenTtl = await client.pttl(tagged('m', k));
    expect(seenTtl).toBeGreaterThan(dedupeTtlMs - 60_000);
    expect(seenTtl).toBeLessThanOrEqual(dedupeTtlMs);
    // An older message does not move the expiry back; a newer one moves it forward.
    await store.recordInbound(k, at - HOUR, 'm-0');
    expect(await client.pttl(tagged('c', k))).toBeGreaterThan(ttlMs - HOUR - 60_000);
    await store.recordInbound(k, at + HOUR, 'm-2');
    expect(await client.pttl(tagged('c', k))).toBeGreaterThan(ttlMs - 60_000);
  });

  it('forgets a message id after dedupeTtlMs', async () => {
    let clock = Date.now();
    const store = redisStore({ client, prefix, dedupeTtlMs: 1000, now: () => clock });
    const k = key('1003', '2003');
    const at = Date.now();
    expect((await store.recordInbound(k, at, 'm-1')).duplicate).toBe(false);
    expect((await store.recordInbound(k, at, 'm-1')).duplicate).toBe(true);
    clock += 1001;
    expect((await store.recordInbound(k, at, 'm-1')).duplicate).toBe(false);
    // Expired ids are trimmed from the set as new ones arrive.
    clock += 1001;
    await store.recordInbound(k, at, 'm-2');
    expect(await client.zrange(tagged('m', k), 0, -1)).toEqual(['m-2']);
  });

  it('makes one round trip per operation', async () => {
    const counted = counting(client);
    const store = redisStore({ client: counted.client, prefix });
    const k = key('1004', '2004');
    const page = pageId('1004');
    await store.recordInbound(k, Date.now(), 'warm-up'); // the script cache may be cold
    const ops: [string, () => Promise<unknown>][] = [
      ['recordInbound', () => store.recordInbound(k, Date.now(), 'm-1')],
      ['get', () => store.get(k)],
      ['recordOutbound', () => store.recordOutbound(k, Date.now())],
      ['markClosed', () => store.markClosed(k, Date.now(), 'closed_by_platform')],
      ['setPageLinked', () => store.setPageLinked(page, false, Date.now(), { errorCode: '1370' })],
      ['getPage', () => store.getPage(page)],
      ['claim', () => store.claim(`c-${runId()}`, 1000)],
      ['takeToken', () => store.takeToken(`b-${runId()}`, 1, 1, Date.now())],
      ['delete', () => store.delete(k)],
    ];
    for (const [name, op] of ops) {
      await op(); // load this script once
      counted.calls.length = 0;
      await op();
      expect({ name, calls: counted.calls }).toEqual({ name, calls: [counted.calls[0]] });
    }
  });

  it('reloads its scripts after SCRIPT FLUSH (NOSCRIPT falls back to EVAL)', async () => {
    const store = redisStore({ client, prefix });
    const k = key('1005', '2005');
    await store.recordInbound(k, 1000 * HOUR, 'm-1');
    await client.script('FLUSH');
    const at = Date.now();
    expect(await store.recordInbound(k, at, 'm-2')).toEqual({
      duplicate: false,
      state: { lastInboundAt: at, lastInboundUuid: 'm-2' },
    });
    const [loaded] = (await client.script('EXISTS', REDIS_SCRIPTS.recordInbound?.sha ?? '')) as number[];
    expect(loaded).toBe(1);
  });

  it('rejects bad input with ValidationError before touching Redis', async () => {
    const counted = counting(client);
    const store = redisStore({ client: counted.client, prefix });
    const k = key('1006', '2006');
    await expect(store.recordInbound(k, 1.5, 'm-1')).rejects.toBeInstanceOf(ValidationError);
    await expect(store.recordInbound(k, Number.NaN, 'm-1')).rejects.toBeInstanceOf(ValidationError);
    await expect(store.recordInbound(k, Date.now(), '')).rejects.toBeInstanceOf(ValidationError);
    await expect(store.markClosed(k, Date.now(), 'nope' as 'user_unavailable')).rejects.toBeInstanceOf(ValidationError);
    await expect(store.claim('id', 0)).rejects.toBeInstanceOf(ValidationError);
    await expect(store.takeToken('b', 0, 1, Date.now())).rejects.toBeInstanceOf(ValidationError);
    await expect(store.takeToken('b', 1, 0, Date.now())).rejects.toBeInstanceOf(ValidationError);
    expect(counted.calls).toEqual([]);
    expect(await client.exists(tagged('c', k))).toBe(0);
  });

  it('names every KEYS and ARGV entry once, with a comment, before any script body uses it', () => {
    for (const [name, { lua }] of Object.entries(REDIS_SCRIPTS)) {
      const lines = lua.split('\n');
      const naming = /^local \w+ = (?:tonumber\()?(KEYS|ARGV)\[\d+\]\)? +-- \S/;
      const header = lines.filter((line) => naming.test(line));
      const positional = lines.filter((line) => /(KEYS|ARGV)\[/.test(line));
      expect(positional, name).toEqual(header);
      expect(header.length, name).toBeGreaterThan(0);
    }
  });

  it('refuses options that would break Cluster slots or expiry', () => {
    expect(() => redisStore({ client, prefix: 'app:{x}:' })).toThrow(ValidationError);
    expect(() => redisStore({ client, ttlMs: 0 })).toThrow(ValidationError);
    expect(() => redisStore({ client, dedupeTtlMs: Number.NaN })).toThrow(ValidationError);
    expect(() => redisStore({ client: {} as Redis })).toThrow(/needs an ioredis client/);
    const bufferPrefixed = { evalsha: client.evalsha, options: { keyPrefix: Buffer.from('app:') } } as unknown as Redis;
    expect(() => redisStore({ client: bufferPrefixed })).toThrow(ValidationError);
    const replicaReads = {
      evalsha: client.evalsha,
      isCluster: true,
      options: { scaleReads: 'slave' },
    } as unknown as Redis;
    expect(() => redisStore({ client: replicaReads })).toThrow(/scaleReads: 'master'/);
    expect(() => redisStore({ client, windowIndex: 'no' as unknown as boolean })).toThrow(ValidationError);
  });

  it('keeps Page state without expiry, and token buckets only until they are full again', async () => {
    const store = redisStore({ client, prefix });
    const page = pageId('1007');
    await store.setPageLinked(page, false, Date.now(), { errorCode: '1370' });
    expect(await client.pttl(`${prefix}p:{${page}}`)).toBe(-1);
    await store.takeToken('bucket-1007', 10, 5, Date.now());
    const ttl = await client.pttl(`${prefix}t:bucket-1007`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1500);
  });
});

describe('the Redis window index (listByLastInbound)', () => {
  const at = () => Date.now() - HOUR;
  const range = (page: string) => ({ from: 0, to: Date.now(), pageId: pageId(page), limit: 100 });

  it('keeps one sorted set per Page and hour (PSID, lastInboundAt), expiring a ttl after its hour', async () => {
    const ttlMs = 10 * HOUR;
    const store = redisStore({ client, prefix, ttlMs });
    const t = at();
    await store.recordInbound(key('1101', '21'), t, 'm-1');
    await store.recordInbound(key('1101', '22'), t - HOUR, 'm-2');
    expect(await client.zrange(bucket('1101', t), 0, -1, 'WITHSCORES')).toEqual(['21', String(t)]);
    expect(await client.zrange(bucket('1101', t - HOUR), 0, -1, 'WITHSCORES')).toEqual(['22', String(t - HOUR)]);
    // Every member's conversation expires by its hour's end plus the ttl, and so does the bucket.
    const until = (Math.floor(t / HOUR) + 1) * HOUR + ttlMs;
    const before = Date.now();
    const ttl = await client.pttl(bucket('1101', t));
    expect(ttl).toBeGreaterThan(until - before - 60_000);
    expect(ttl).toBeLessThanOrEqual(until - before);
  });

  it('moves a conversation to the hour of its newest message, and out of the index when closed or deleted', async () => {
    const store = redisStore({ client, prefix });
    const t = at() - 3 * HOUR;
    const k = key('1102', '31');
    await store.recordInbound(k, t, 'm-1');
    await store.recordInbound(k, t + 2 * HOUR, 'm-2');
    await store.recordInbound(k, t + 2 * HOUR + 1, 'm-3');
    expect(await client.exists(bucket('1102', t))).toBe(0);
    expect(await client.zrange(bucket('1102', t + 2 * HOUR), 0, -1, 'WITHSCORES')).toEqual([
      '31',
      String(t + 2 * HOUR + 1),
    ]);
    await store.markClosed(k, t + 2 * HOUR + 2, 'user_unavailable');
    expect(await client.exists(bucket('1102', t + 2 * HOUR))).toBe(0);
    await store.recordInbound(k, t + 3 * HOUR, 'm-4');
    expect(await client.zrange(bucket('1102', t + 3 * HOUR), 0, -1)).toEqual(['31']);
    await store.delete(k);
    expect(await client.keys(`${prefix}i:{1102}*`)).toEqual([]);
  });

  it('skips members past the ttl on a read, before their bucket expires', async () => {
    let clock = Date.now();
    const store = redisStore({ client, prefix, ttlMs: 2 * HOUR, now: () => clock });
    const t = Date.now() - HOUR;
    await store.recordInbound(key('1105', '31'), t, 'm-1');
    clock += 2 * HOUR; // as the store sees it, 31 expired
    expect(await store.listByLastInbound?.({ ...range('1105'), to: clock })).toEqual([]);
  });

  it('drops a member whose conversation is gone (evicted) while listing', async () => {
    const store = redisStore({ client, prefix });
    const t = at();
    await store.recordInbound(key('1103', '41'), t, 'm-1');
    await store.recordInbound(key('1103', '42'), t + 1, 'm-2');
    await client.del(tagged('c', key('1103', '41')));
    expect((await store.listByLastInbound?.(range('1103')))?.map((e) => e.key)).toEqual([key('1103', '42')]);
    const buckets = [...new Set([bucket('1103', t), bucket('1103', t + 1)])];
    expect((await Promise.all(buckets.map((b) => client.zrange(b, 0, -1)))).flat()).toEqual(['42']);
  });

  it('lists across hour buckets in order, resuming from a cursor inside a bucket', async () => {
    const store = redisStore({ client, prefix });
    const t = Math.floor(at() / HOUR) * HOUR - 3 * HOUR;
    // Three hours, ties within one, an empty hour between.
    const times = [t + 5, t + 5, t + 9, t + HOUR + 1, t + 3 * HOUR + 2, t + 3 * HOUR + 2];
    for (const [i, when] of times.entries()) await store.recordInbound(key('1106', `6${i}`), when, `m-${i}`);
    const all = await store.listByLastInbound?.({ from: t, to: t + 4 * HOUR, pageId: pageId('1106'), limit: 100 });
    expect(all?.map((e) => [e.key, e.state.lastInboundAt])).toEqual(
      times.map((when, i) => [key('1106', `6${i}`), when]),
    );
    // The widest range reads at most the hours a live conversation can be in.
    expect(
      await store.listByLastInbound?.({ from: 0, to: Number.MAX_SAFE_INTEGER, pageId: pageId('1106'), limit: 100 }),
    ).toEqual(all);
    const pages: string[] = [];
    let after: { at: number; key: ConversationKey } | undefined;
    for (;;) {
      const got = await store.listByLastInbound?.({
        from: t,
        to: t + 4 * HOUR,
        pageId: pageId('1106'),
        limit: 1,
        after,
      });
      if (got === undefined || got.length === 0) break;
      const last = got[got.length - 1] as (typeof got)[number];
      pages.push(last.key);
      after = { at: last.state.lastInboundAt, key: last.key };
    }
    expect(pages).toEqual(times.map((_, i) => key('1106', `6${i}`)));
  });

  it('registers a Page once per process and hour, beside the write, so a lost registration comes back', async () => {
    const registry = `${prefix}pages`;
    const counted = counting(client);
    const store = redisStore({ client: counted.client, prefix });
    const t = Math.floor(at() / HOUR) * HOUR - 2 * HOUR;
    await store.recordInbound(key('1104', '51'), t, 'm-1');
    expect(counted.calls).toEqual(['evalsha', 'sadd']);
    counted.calls.length = 0;
    await store.recordInbound(key('1104', '52'), t + 1, 'm-2');
    expect(counted.calls).toEqual(['evalsha']);
    expect(await client.sismember(registry, '1104')).toBe(1);
    // The registration was lost (evicted, flushed): the next hour's first message brings it back.
    await client.srem(registry, '1104');
    counted.calls.length = 0;
    await store.recordInbound(key('1104', '53'), t + HOUR, 'm-3');
    expect(counted.calls).toEqual(['evalsha', 'sadd']);
    expect(await client.sismember(registry, '1104')).toBe(1);
    // A late message (an earlier hour) registers nothing.
    counted.calls.length = 0;
    await store.recordInbound(key('1104', '54'), t + 2, 'm-4');
    expect(counted.calls).toEqual(['evalsha']);
  });

  it('lists every registered Page in one script on a standalone server', async () => {
    const store = redisStore({ client, prefix: `${prefix}all:` });
    const t = at();
    const keys = Array.from({ length: 40 }, (_, i) => key(String(1200 + (i % 10)), String(60 + i)));
    await Promise.all(keys.map((k, i) => store.recordInbound(k, t + i, `m-${i}`)));
    const counted = counting(client);
    const watched = redisStore({ client: counted.client, prefix: `${prefix}all:` });
    const listed = await watched.listByLastInbound?.({ from: t - 1, to: t + 100, limit: 5 });
    expect(listed?.map((e) => e.key)).toEqual(keys.slice(0, 5));
    expect(counted.calls.filter((c) => c === 'smembers' || c === 'evalsha')).toEqual(['smembers', 'evalsha']);
  });

  it('lists what the memory store lists, in one script or (after a CROSSSLOT refusal) one call per Page', async () => {
    // Page IDs of different lengths: key byte order differs from (Page, PSID) order. Four
    // times and small pages, so that pages often end inside a tie across Pages.
    const pages = ['1', '12', '2', '100'];
    const psids = ['3', '30', '4', '55', '6'];
    const event = fc.record({
      page: fc.constantFrom(...pages),
      user: fc.constantFrom(...psids),
      at: fc.integer({ min: 0, max: 3 }),
      close: fc.option(fc.integer({ min: -1, max: 1 }), { nil: undefined, freq: 4 }),
    });
    const query = fc.record({
      from: fc.integer({ min: -1, max: 2 }),
      to: fc.integer({ min: 1, max: 4 }),
      limit: fc.integer({ min: 1, max: 3 }),
      page: fc.option(fc.constantFrom(...pages), { nil: undefined }),
    });
    // A client whose multi-Page script is refused, as a proxy over several shards would.
    const refusing = new Proxy(client, {
      get(obj, prop, receiver) {
        const value = Reflect.get(obj, prop, receiver);
        if (prop !== 'evalsha' || typeof value !== 'function') return value;
        return (sha: string, ...rest: unknown[]) =>
          sha === REDIS_SCRIPTS.listEveryPage?.sha
            ? Promise.reject(new Error("CROSSSLOT Keys in request don't hash to the same slot"))
            : (value as (...a: unknown[]) => unknown).call(obj, sha, ...rest);
      },
    });
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(event, { maxLength: 25 }),
        fc.array(query, { minLength: 1, maxLength: 3 }),
        async (events, queries) => {
          const p = `${prefix}diff${++round}:`;
          const base = Date.now() - HOUR;
          const stores = [redisStore({ client, prefix: p }), redisStore({ client: refusing, prefix: p })];
          const reference = memoryStore();
          for (const [n, e] of events.entries()) {
            for (const s of [stores[0], reference]) {
              await s?.recordInbound(key(e.page, e.user), base + e.at * 10, `m-${n}`);
              if (e.close !== undefined)
                await s?.markClosed(key(e.page, e.user), base + (e.at + e.close) * 10, 'closed_by_platform');
            }
          }
          for (const q of queries) {
            const range = {
              from: base + q.from * 10,
              to: base + q.to * 10,
              limit: q.limit,
              pageId: q.page === undefined ? undefined : pageId(q.page),
            };
            const pagedOf = async (s: SessionStore) => {
              const all: InboundEntry[] = [];
              let after: InboundRange['after'];
              for (let i = 0; i < 30; i++) {
                const entries = (await s.listByLastInbound?.({ ...range, after })) ?? [];
                all.push(...entries);
                const last = entries[entries.length - 1];
                if (last === undefined || entries.length < range.limit) break;
                after = { at: last.state.lastInboundAt, key: last.key };
              }
              return all;
            };
            const want = await pagedOf(reference);
            for (const s of stores) expect(await pagedOf(s)).toEqual(want);
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it('keeps no index, registry or listByLastInbound with windowIndex: false', async () => {
    const counted = counting(client);
    const store = redisStore({ client: counted.client, prefix: `${prefix}noidx:`, windowIndex: false });
    const k = key('1105', '71');
    await store.recordInbound(k, at(), 'm-1');
    expect((await client.keys(`${prefix}noidx:*`)).sort()).toEqual([
      `${prefix}noidx:c:{1105}:71`,
      `${prefix}noidx:m:{1105}:71`,
    ]);
    await store.markClosed(k, at() + 1, 'closed_by_platform');
    await store.delete(k);
    expect(counted.calls).not.toContain('sadd');
    expect(await client.keys(`${prefix}noidx:*`)).toEqual([]);
    expect(store.listByLastInbound).toBeUndefined();
  });
});

describe('one Redis round trip per verified webhook', () => {
  const secret = 'round-trip-secret';
  const inbound = (page: string, uuid: string) =>
    signWebhook(
      {
        channel: 'messenger',
        message_uuid: uuid,
        to: page,
        from: '2002',
        timestamp: new Date().toISOString(),
        message_type: 'text',
        text: 'Hi',
      },
      secret,
    );

  it('a verified inbound message (claim, dedupe, window, Page, lease) is one EVALSHA', async () => {
    const counted = counting(client);
    const store = redisStore({ client: counted.client, prefix });
    const layer = createWebhookLayer({ store, signatureSecret: secret, now: Date.now });
    const handler = layer.webhookHandler({ onMessage: () => {} });
    const post = (signed: ReturnType<typeof inbound>) =>
      handler(new Request('http://localhost/', { method: 'POST', headers: signed.headers, body: signed.body }));
    await post(inbound('3001', 'warm-up')); // the script cache may be cold
    counted.calls.length = 0;
    const signed = inbound('3001', 'm-1');
    const response = await handler(
      new Request('http://localhost/', { method: 'POST', headers: signed.headers, body: signed.body }),
    );
    expect(response.status).toBe(200);
    // The ingest script, then the lease's settle after the callback.
    expect(counted.calls).toEqual(['evalsha', 'evalsha']);
    counted.calls.length = 0;
    await layer.receive(inbound('3001', 'm-2'));
    expect(counted.calls).toEqual(['evalsha']);
  });

  it('a verified status with a refusal (claim, effect, dedupe) is one EVALSHA', async () => {
    const counted = counting(client);
    const store = redisStore({ client: counted.client, prefix });
    const layer = createWebhookLayer({ store, signatureSecret: secret, now: Date.now });
    const status = signWebhook(
      {
        channel: 'messenger',
        message_uuid: 'status-1',
        to: '2002',
        from: '3002',
        timestamp: new Date().toISOString(),
        status: 'rejected',
        error: { type: 'x', title: '1370', detail: 'token expired' },
      },
      secret,
    );
    await layer.receive(inbound('3002', 'warm-up'));
    counted.calls.length = 0;
    const result = await layer.receive(status);
    expect(result.platformError?.action).toBe('page_unlinked');
    expect(counted.calls).toEqual(['evalsha']);
  });
});

describe('a guarded send with the Redis store', () => {
  it('makes one store round trip before the network (the Page and the conversation in one EVALSHA)', async () => {
    const api = await startFakeApi();
    const counted = counting(client, true);
    const store = redisStore({ client: counted.client, prefix });
    const messenger = createMessenger({ apiKey: 'k', apiSecret: 's', apiHost: api.url, store });
    try {
      const page = pageId('3101');
      const user = psid('4101');
      await store.recordInbound(conversationKey(page, user), Date.now() - 1000, 'm-1');
      await messenger.sendText({ from: page, to: user, text: 'warm-up' }); // the script cache may be cold
      const shas = counted.calls;
      counted.calls.length = 0;
      await messenger.sendText({ from: page, to: user, text: 'Hi' });
      // Before the network: one script reading the Page and the conversation; after it, the
      // outbound record. Nothing else.
      expect(shas).toEqual([REDIS_SCRIPTS.readForSend?.sha, REDIS_SCRIPTS.recordOutbound?.sha]);
    } finally {
      await messenger.close();
      await api.close();
    }
  });
});

describe('a reply lost on the wire, and the call ioredis sends again after it reconnects', () => {
  // ioredis re-sends a command whose reply never came (autoResendUnfulfilledCommands, on by
  // default), after the server may have run it: the copy must get the first run's answer.
  let proxy: TcpProxy;
  let through: Redis;
  const lossPrefix = `vm-test-${runId()}:`;
  beforeAll(async () => {
    proxy = await tcpProxy(6379);
    through = await connectRedis({ port: proxy.port, retryStrategy: () => 20, maxRetriesPerRequest: 5 });
  });
  afterAll(async () => {
    through.disconnect();
    await proxy.close();
    await dropRedisPrefix(client, lossPrefix);
  });

  it('ingest: a new webhook is not taken for a replay of itself, and keeps its lease', async () => {
    const store = redisStore({ client: through, prefix: lossPrefix });
    const page = pageId('108000000000001');
    const input = (n: number) => {
      const key = conversationKey(page, psid(String(7_100_000_000_000 + n)));
      const uuid = `m-${runId()}`;
      return {
        now: Date.now(),
        replay: { id: `{${page}}jti:${runId()}`, ttlMs: 600_000 },
        message: { key, pageId: page, at: Date.now() - 1000, messageUuid: uuid },
        lease: { id: `{${page}}:inbound:${key}:${uuid}`, ttlMs: 60_000 },
      };
    };
    await store.ingest?.(input(1)); // loads the script: the next reply is the ingest's own
    proxy.loseNextReply();
    const result = await store.ingest?.(input(2));
    expect(result).toMatchObject({ replayed: false, duplicate: false, lease: { state: 'acquired', attempt: 1 } });
    // A real replay of that token is still one.
    const again = input(3);
    const first = await store.ingest?.(again);
    expect(first?.replayed).toBe(false);
    expect(await store.ingest?.({ ...again, now: Date.now() })).toEqual({
      replayed: true,
      duplicate: false,
      applied: false,
    });
  });

  it('ingest of a Dispatch report (its token only): not taken for a replay of itself', async () => {
    const store = redisStore({ client: through, prefix: lossPrefix });
    const dispatch = () => ({ now: Date.now(), replay: { id: `jti:${runId()}`, ttlMs: 600_000 } });
    await store.ingest?.(dispatch());
    proxy.loseNextReply();
    expect(await store.ingest?.(dispatch())).toEqual({ replayed: false, duplicate: false, applied: false });
  });

  it('claim: the call that took a claim is told true again; any other call false', async () => {
    const store = redisStore({ client: through, prefix: lossPrefix });
    await store.claim(`warm-${runId()}`, 60_000);
    const id = `c-${runId()}`;
    proxy.loseNextReply();
    expect(await store.claim(id, 60_000)).toBe(true);
    expect(await store.claim(id, 60_000)).toBe(false);
  });
});
