/**
 * The memory store's bounds (LRU cap, TTL, claim cap, dedupe window) and copy semantics.
 * The behaviour every store shares is checked by the conformance suite
 * (`describeSessionStore`), not here.
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../src/errors.js';
import { conversationKey, pageId, psid } from '../src/ids.js';
import {
  DEFAULT_DEDUPE_TTL_MS,
  DEFAULT_STORE_TTL_MS,
  type MemoryStoreOptions,
  memoryStore,
} from '../src/store/memory.js';

const DAY = 24 * 60 * 60 * 1000;
const page = pageId('102290129340398');
const key = (n: number) => conversationKey(page, psid(String(1000 + n)));

/** A store on a clock the test moves. */
function storeAt(start: number, options: Omit<MemoryStoreOptions, 'now'> = {}) {
  const clock = { t: start };
  const store = memoryStore({ ...options, now: () => clock.t });
  return { store, clock };
}

async function present(store: ReturnType<typeof memoryStore>, n: number): Promise<boolean> {
  return (await store.get(key(n))) !== null;
}

describe('memoryStore: maxConversations', () => {
  it('drops the least recently written conversation past the cap', async () => {
    const { store } = storeAt(1_000, { maxConversations: 3 });
    for (const n of [1, 2, 3]) await store.recordInbound(key(n), 1_000, `m${n}`);
    await store.recordInbound(key(4), 1_000, 'm4');
    expect(await present(store, 1)).toBe(false);
    for (const n of [2, 3, 4]) expect(await present(store, n)).toBe(true);
  });

  it('a new inbound message makes a conversation the most recently written', async () => {
    const { store } = storeAt(1_000, { maxConversations: 3 });
    for (const n of [1, 2, 3]) await store.recordInbound(key(n), 1_000, `m${n}`);
    await store.recordInbound(key(1), 1_001, 'm1b');
    await store.recordInbound(key(4), 1_000, 'm4');
    expect(await present(store, 2)).toBe(false);
    for (const n of [1, 3, 4]) expect(await present(store, n)).toBe(true);
  });

  it('an outbound send or a close is a write too', async () => {
    const { store } = storeAt(1_000, { maxConversations: 3 });
    for (const n of [1, 2, 3]) await store.recordInbound(key(n), 1_000, `m${n}`);
    await store.recordOutbound(key(1), 1_500);
    await store.markClosed(key(2), 1_600, 'closed_by_platform');
    await store.recordInbound(key(4), 1_000, 'm4');
    expect(await present(store, 3)).toBe(false);
    for (const n of [1, 2, 4]) expect(await present(store, n)).toBe(true);
  });

  it('a read does not keep a conversation (least recently written, not read)', async () => {
    const { store } = storeAt(1_000, { maxConversations: 2 });
    await store.recordInbound(key(1), 1_000, 'm1');
    await store.recordInbound(key(2), 1_000, 'm2');
    await store.get(key(1));
    await store.recordInbound(key(3), 1_000, 'm3');
    expect(await present(store, 1)).toBe(false);
  });

  it('stays at the cap under many writes', async () => {
    const { store } = storeAt(1_000, { maxConversations: 50 });
    for (let n = 0; n < 2_000; n++) await store.recordInbound(key(n), 1_000, `m${n}`);
    let kept = 0;
    for (let n = 0; n < 2_000; n++) if (await present(store, n)) kept++;
    expect(kept).toBe(50);
    for (let n = 1_950; n < 2_000; n++) expect(await present(store, n)).toBe(true);
  });

  it('keeps exactly the most recently written conversations through long runs of rewrites, deletes and clears', async () => {
    // Eviction reuses one iterator across calls; this mixes every way an entry can move or
    // vanish under it and compares with a model of the LRU order.
    const { store } = storeAt(1_000, { maxConversations: 20 });
    const order: number[] = [];
    const write = async (n: number, uuid: string) => {
      await store.recordInbound(key(n), 1_000 + order.length, uuid);
      const at = order.indexOf(n);
      if (at !== -1) order.splice(at, 1);
      order.push(n);
      if (order.length > 20) order.shift();
    };
    for (let i = 0; i < 3_000; i++) {
      const n = (i * 7919) % 60;
      if (i % 97 === 0) {
        await store.delete(key(n));
        const at = order.indexOf(n);
        if (at !== -1) order.splice(at, 1);
      } else {
        await write(n, `u${i}`);
      }
      if (i === 1_500) {
        await store.close();
        order.length = 0;
      }
    }
    for (let n = 0; n < 60; n++) expect(await present(store, n)).toBe(order.includes(n));
  });
});

describe('memoryStore: ttlMs', () => {
  it('defaults to 8 days: HUMAN_AGENT’s 7 days plus one', () => {
    expect(DEFAULT_STORE_TTL_MS).toBe(8 * DAY);
  });

  it('forgets a conversation once its user last wrote ttlMs ago', async () => {
    const { store, clock } = storeAt(10_000, { ttlMs: 1_000 });
    await store.recordInbound(key(1), 10_000, 'm1');
    clock.t = 10_999;
    expect(await present(store, 1)).toBe(true);
    clock.t = 11_000;
    expect(await store.get(key(1))).toBeNull();
  });

  it('counts from the user message time, not from when it was recorded', async () => {
    const { store, clock } = storeAt(10_000, { ttlMs: 1_000 });
    // A message imported late: written 900 ms ago.
    await store.recordInbound(key(1), 9_100, 'm1');
    clock.t = 10_099;
    expect(await present(store, 1)).toBe(true);
    clock.t = 10_100;
    expect(await present(store, 1)).toBe(false);
  });

  it('does not keep a message that is already older than ttlMs', async () => {
    const { store } = storeAt(10_000, { ttlMs: 1_000 });
    const result = await store.recordInbound(key(1), 8_000, 'm1');
    expect(result).toMatchObject({ duplicate: false, state: { lastInboundAt: 8_000 } });
    expect(await store.get(key(1))).toBeNull();
  });

  it('an already-expired message takes no slot from a live conversation', async () => {
    const { store } = storeAt(10_000, { ttlMs: 1_000, maxConversations: 2 });
    await store.recordInbound(key(1), 10_000, 'm1');
    await store.recordInbound(key(2), 10_000, 'm2');
    await store.recordInbound(key(3), 5_000, 'old');
    expect(await present(store, 1)).toBe(true);
    expect(await present(store, 2)).toBe(true);
  });

  it('a newer inbound message restarts the time to live', async () => {
    const { store, clock } = storeAt(10_000, { ttlMs: 1_000 });
    await store.recordInbound(key(1), 10_000, 'm1');
    clock.t = 10_900;
    await store.recordInbound(key(1), 10_900, 'm2');
    clock.t = 11_500;
    expect((await store.get(key(1)))?.lastInboundAt).toBe(10_900);
  });

  it('an outbound send does not extend it (the window never moves for the Page)', async () => {
    const { store, clock } = storeAt(10_000, { ttlMs: 1_000 });
    await store.recordInbound(key(1), 10_000, 'm1');
    clock.t = 10_900;
    await store.recordOutbound(key(1), 10_900);
    clock.t = 11_000;
    expect(await present(store, 1)).toBe(false);
  });

  it('an expired conversation takes no outbound or close', async () => {
    const { store, clock } = storeAt(10_000, { ttlMs: 1_000 });
    await store.recordInbound(key(1), 10_000, 'm1');
    clock.t = 12_000;
    await store.recordOutbound(key(1), 12_000);
    await store.markClosed(key(1), 12_000, 'closed_by_platform');
    expect(await store.get(key(1))).toBeNull();
  });
});

describe('memoryStore: dedupeTtlMs', () => {
  it('defaults to 48 hours (Vonage retries for up to 24)', () => {
    expect(DEFAULT_DEDUPE_TTL_MS).toBe(2 * DAY);
  });

  it('treats a repeated message uuid within the window as a duplicate that changes nothing', async () => {
    const { store, clock } = storeAt(10_000, { dedupeTtlMs: 1_000 });
    await store.recordInbound(key(1), 10_000, 'same-uuid');
    clock.t = 10_999;
    const again = await store.recordInbound(key(1), 10_500, 'same-uuid');
    expect(again.duplicate).toBe(true);
    expect(again.state.lastInboundAt).toBe(10_000);
    expect((await store.get(key(1)))?.lastInboundAt).toBe(10_000);
  });

  it('forgets the uuid after the window', async () => {
    const { store, clock } = storeAt(10_000, { dedupeTtlMs: 1_000 });
    await store.recordInbound(key(1), 10_000, 'same-uuid');
    clock.t = 11_000;
    const again = await store.recordInbound(key(1), 10_500, 'same-uuid');
    expect(again.duplicate).toBe(false);
    expect((await store.get(key(1)))?.lastInboundAt).toBe(10_500);
  });
});

describe('memoryStore: maxClaims', () => {
  it('remembers at most maxClaims ids, dropping the oldest', async () => {
    const { store } = storeAt(10_000, { maxClaims: 2 });
    expect(await store.claim('a', 60_000)).toBe(true);
    expect(await store.claim('b', 60_000)).toBe(true);
    expect(await store.claim('c', 60_000)).toBe(true);
    // 'a' was dropped to make room; 'c' is still remembered.
    expect(await store.claim('c', 60_000)).toBe(false);
    expect(await store.claim('a', 60_000)).toBe(true);
  });

  it('bounds the remembered message uuids by the same cap', async () => {
    const { store } = storeAt(10_000, { maxClaims: 10 });
    for (let n = 0; n < 100; n++) await store.recordInbound(key(1), 10_000, `uuid-${n}`);
    expect((await store.recordInbound(key(1), 10_000, 'uuid-99')).duplicate).toBe(true);
    expect((await store.recordInbound(key(1), 10_000, 'uuid-0')).duplicate).toBe(false);
  });

  it('claims expire after their own ttl', async () => {
    const { store, clock } = storeAt(10_000);
    expect(await store.claim('jti-1', 300)).toBe(true);
    clock.t = 10_299;
    expect(await store.claim('jti-1', 300)).toBe(false);
    clock.t = 10_300;
    expect(await store.claim('jti-1', 300)).toBe(true);
  });
});

describe('memoryStore: results are copies', () => {
  it('mutating what get returns does not change the store', async () => {
    const { store } = storeAt(10_000);
    await store.recordInbound(key(1), 10_000, 'm1');
    const state = await store.get(key(1));
    if (state === null) throw new Error('expected a state');
    state.lastInboundAt = 99_999_999;
    state.closedAt = 99_999_999;
    state.closedReason = 'user_unavailable';
    expect(await store.get(key(1))).toEqual({ lastInboundAt: 10_000, lastInboundUuid: 'm1' });
  });

  it('mutating what recordInbound returns does not change the store', async () => {
    const { store } = storeAt(10_000);
    const first = await store.recordInbound(key(1), 10_000, 'm1');
    first.state.lastInboundAt = 99_999_999;
    const duplicate = await store.recordInbound(key(1), 10_000, 'm1');
    duplicate.state.lastInboundAt = 99_999_999;
    expect((await store.get(key(1)))?.lastInboundAt).toBe(10_000);
  });

  it('mutating what getPage returns does not change the store', async () => {
    const { store } = storeAt(10_000);
    await store.setPageLinked(page, false, 10_000, { errorCode: '1370' });
    const state = await store.getPage(page);
    if (state === null) throw new Error('expected a page state');
    state.linked = true;
    expect(await store.getPage(page)).toEqual({ linked: false, changedAt: 10_000, errorCode: '1370' });
  });
});

describe('memoryStore: options', () => {
  it.each<[string, MemoryStoreOptions]>([
    ['maxConversations 0', { maxConversations: 0 }],
    ['maxConversations NaN (it would never evict)', { maxConversations: Number.NaN }],
    ['a fractional maxConversations', { maxConversations: 1.5 }],
    ['maxClaims -1', { maxClaims: -1 }],
    ['maxClaims Infinity', { maxClaims: Number.POSITIVE_INFINITY }],
    ['ttlMs 0', { ttlMs: 0 }],
    ['ttlMs NaN (it would never expire)', { ttlMs: Number.NaN }],
    ['dedupeTtlMs -5', { dedupeTtlMs: -5 }],
    // What Redis, PostgreSQL and SQLite refuse, refused here too, so tests on memory catch it.
    ['a fractional ttlMs', { ttlMs: 1000.5 }],
    ['a fractional dedupeTtlMs', { dedupeTtlMs: 0.5 }],
    ['windowIndex "no"', { windowIndex: 'no' as unknown as boolean }],
    ['windowIndex 0', { windowIndex: 0 as unknown as boolean }],
  ])('refuses %s with a ValidationError', (_what, options) => {
    expect(() => memoryStore(options)).toThrow(ValidationError);
  });

  it('has no listByLastInbound with windowIndex: false, as the other stores', () => {
    expect(memoryStore({ windowIndex: false }).listByLastInbound).toBeUndefined();
    expect(memoryStore({ windowIndex: true }).listByLastInbound).toBeTypeOf('function');
  });

  it('accepts no options at all', async () => {
    const store = memoryStore();
    await store.recordInbound(key(1), Date.now(), 'm1');
    expect(await present(store, 1)).toBe(true);
    await store.close();
  });
});
