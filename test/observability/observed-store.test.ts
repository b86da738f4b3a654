import { channel } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { MESSENGER_CHANNELS, type StoreOperationEvent } from '../../src/diagnostics.js';
import { conversationKey, pageId, psid } from '../../src/ids.js';
import { messengerStore } from '../../src/store/checked.js';
import { memoryStore } from '../../src/store/memory.js';
import type { SessionStore } from '../../src/store/types.js';

const KEY = conversationKey(pageId('102290129340398'), psid('25381719828140932'));
const events: StoreOperationEvent[] = [];
const listen = (message: unknown) => events.push(message as StoreOperationEvent);
afterEach(() => {
  channel(MESSENGER_CHANNELS.store).unsubscribe(listen);
  events.length = 0;
});

describe('messengerStore (checks and store-channel timing in one layer)', () => {
  it('passes every call through unchanged, and offers takeToken only when the store has it', async () => {
    const inner = memoryStore();
    const store = messengerStore(inner);
    expect((await store.recordInbound(KEY, 1000, 'm-1')).duplicate).toBe(false);
    expect((await store.recordInbound(KEY, 1000, 'm-1')).duplicate).toBe(true);
    expect(await inner.get(KEY)).toEqual(await store.get(KEY));
    // The memory store has no takeToken (the limiter then keeps its buckets in process).
    expect(store.takeToken).toBeUndefined();
    const withTokens: SessionStore = { ...inner, takeToken: async () => ({ allowed: false, retryAfterMs: 7 }) };
    expect(await messengerStore(withTokens).takeToken?.('page:1', 1, 1, 0)).toEqual({
      allowed: false,
      retryAfterMs: 7,
    });
    expect(events).toEqual([]);
  });

  it('forwards listByLastInbound and publishes it as its own operation', async () => {
    const store = messengerStore(memoryStore());
    await store.recordInbound(KEY, Date.now() - 1000, 'm-1');
    channel(MESSENGER_CHANNELS.store).subscribe(listen);
    const listed = await store.listByLastInbound?.({ from: 0, to: Date.now(), limit: 10 });
    expect(listed?.map((e) => e.key)).toEqual([KEY]);
    expect(events.map((e) => e.operation)).toEqual(['listByLastInbound']);
    const { listByLastInbound: _, ...without } = memoryStore();
    expect(messengerStore(without).listByLastInbound).toBeUndefined();
  });

  it('publishes each operation with its duration, and a failure whether thrown or rejected', async () => {
    channel(MESSENGER_CHANNELS.store).subscribe(listen);
    const boom = new Error('down');
    const broken = {
      ...memoryStore(),
      get: () => Promise.reject(boom),
      claim: () => {
        throw boom;
      },
    } as SessionStore;
    const store = messengerStore(broken);
    await expect(store.get(KEY)).rejects.toBe(boom);
    expect(() => store.claim('x', 1000)).toThrow(boom);
    await store.recordInbound(KEY, 1000, 'm-2');
    expect(events.map((e) => [e.operation, e.error])).toEqual([
      ['get', boom],
      ['claim', boom],
      ['recordInbound', undefined],
    ]);
    for (const e of events) expect(e.durationMs).toBeGreaterThanOrEqual(0);
  });
});
