import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { conversationKey, pageId, psid } from '../../src/ids.js';
import { createMessenger } from '../../src/messenger.js';
import { REDIS_SCRIPTS, redisStore } from '../../src/store/redis.js';
import { describeSessionStore } from '../../src/testing/conformance.js';
import { signWebhook } from '../../src/testing/sign.js';
import { createWebhookLayer } from '../../src/webhooks/index.js';
import { startFakeApi } from '../send/fake-api.js';
import { connectRedis, dropRedisPrefix, runId } from './services.js';

const prefix = `vm-test-${runId()}:`;
let client: Redis;

beforeAll(async () => {
  client = await connectRedis();
});
afterAll(async () => {
  await dropRedisPrefix(client, prefix);
  client.disconnect();
});

describeSessionStore('redisStore', () => redisStore({ client, prefix }));

const key = (page: string, user: string) => conversationKey(pageId(page), psid(user));
const HOUR = 3_600_000;
/** The store's key for a conversation (or its message ids): tagged by Page. */
const tagged = (kind: 'c' | 'm', k: string) => `${prefix}${kind}:{${k.split(':')[0]}}:${k.split(':')[1]}`;

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
    await store.recordInbound(k, Date.now(), 'm-1');
    await store.setPageLinked(pageId('1001'), true, Date.now());
    const keys = await client.keys(`${prefix}*{1001}*`);
    expect(keys.sort()).toEqual([
      `${prefix}c:{1001}:2002`,
      `${prefix}i:{1001}`,
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

  it('keeps one sorted set per Page (PSID, lastInboundAt) that expires with its newest member', async () => {
    const store = redisStore({ client, prefix, ttlMs: 10 * HOUR });
    const t = at();
    await store.recordInbound(key('1101', '21'), t, 'm-1');
    await store.recordInbound(key('1101', '22'), t - HOUR, 'm-2');
    expect(await client.zrange(`${prefix}i:{1101}`, 0, -1, 'WITHSCORES')).toEqual([
      '22',
      String(t - HOUR),
      '21',
      String(t),
    ]);
    const ttl = await client.pttl(`${prefix}i:{1101}`);
    expect(ttl).toBeGreaterThan(9 * HOUR - 60_000);
    expect(ttl).toBeLessThanOrEqual(9 * HOUR);
  });

  it('trims members past the ttl on the next write to the Page, and skips them on a read before', async () => {
    let clock = Date.now();
    const store = redisStore({ client, prefix, ttlMs: 2 * HOUR, now: () => clock });
    const t = Date.now() - HOUR;
    await store.recordInbound(key('1102', '31'), t, 'm-1');
    clock += 2 * HOUR; // as the store sees it, 31 expired
    expect(await store.listByLastInbound?.({ ...range('1102'), to: clock })).toEqual([]);
    await store.recordInbound(key('1102', '32'), clock - 1000, 'm-2');
    expect(await client.zrange(`${prefix}i:{1102}`, 0, -1)).toEqual(['32']);
  });

  it('drops a member whose conversation is gone (evicted) while listing', async () => {
    const store = redisStore({ client, prefix });
    await store.recordInbound(key('1103', '41'), at(), 'm-1');
    await store.recordInbound(key('1103', '42'), at() + 1, 'm-2');
    await client.del(tagged('c', key('1103', '41')));
    expect((await store.listByLastInbound?.(range('1103')))?.map((e) => e.key)).toEqual([key('1103', '42')]);
    expect(await client.zrange(`${prefix}i:{1103}`, 0, -1)).toEqual(['42']);
  });

  it('registers a Page once per process, beside the first write, and again when its index is created', async () => {
    const registry = `${prefix}pages`;
    const counted = counting(client);
    const store = redisStore({ client: counted.client, prefix });
    await store.recordInbound(key('1104', '51'), at(), 'm-1');
    expect(counted.calls).toEqual(['evalsha', 'sadd']);
    counted.calls.length = 0;
    await store.recordInbound(key('1104', '52'), at(), 'm-2');
    expect(counted.calls).toEqual(['evalsha']);
    expect(await client.sismember(registry, '1104')).toBe(1);
    // The registration was lost (or the index expired): the script reports a new index.
    await client.srem(registry, '1104');
    await client.del(`${prefix}i:{1104}`);
    counted.calls.length = 0;
    await store.recordInbound(key('1104', '53'), at(), 'm-3');
    expect(counted.calls).toEqual(['evalsha', 'sadd']);
    expect(await client.sismember(registry, '1104')).toBe(1);
  });

  it('lists every registered Page when no pageId is given, reading a few entries per Page', async () => {
    const store = redisStore({ client, prefix: `${prefix}all:` });
    const t = at();
    const keys = Array.from({ length: 40 }, (_, i) => key(String(1200 + (i % 10)), String(60 + i)));
    await Promise.all(keys.map((k, i) => store.recordInbound(k, t + i, `m-${i}`)));
    const counted = counting(client);
    const watched = redisStore({ client: counted.client, prefix: `${prefix}all:` });
    const listed = await watched.listByLastInbound?.({ from: t - 1, to: t + 100, limit: 5 });
    expect(listed?.map((e) => e.key)).toEqual(keys.slice(0, 5));
    // SMEMBERS, then one script per Page (two entries each), then more only where needed.
    expect(counted.calls.filter((c) => c === 'evalsha').length).toBeLessThan(20);
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
