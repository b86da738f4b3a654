/**
 * The memory store keeps each conversation's latest message id beside the conversation (in
 * its slot) rather than as a separate dedupe entry. These check that this layout remembers
 * exactly what a separate entry would: after the conversation is replaced, dropped for room,
 * expired, or its slot reused.
 */
import { describe, expect, it } from 'vitest';
import { conversationKey, pageId, psid } from '../src/ids.js';
import { type MemoryStoreOptions, memoryStore } from '../src/store/memory.js';
import { ConversationSlots } from '../src/store/memory-slots.js';

const page = pageId('102290129340398');
const key = (n: number) => conversationKey(page, psid(String(5000 + n)));

function storeAt(start: number, options: Omit<MemoryStoreOptions, 'now'> = {}) {
  const clock = { t: start };
  return { store: memoryStore({ ...options, now: () => clock.t }), clock };
}

describe('memoryStore: message ids outlive their place in the conversation', () => {
  it('a retry of a message replaced by a newer one is still a duplicate', async () => {
    const { store } = storeAt(10_000);
    await store.recordInbound(key(1), 10_000, 'first');
    await store.recordInbound(key(1), 10_100, 'second');
    const retry = await store.recordInbound(key(1), 10_000, 'first');
    expect(retry).toEqual({ duplicate: true, state: { lastInboundAt: 10_100, lastInboundUuid: 'second' } });
  });

  it('a retry after the conversation was dropped for room is a duplicate that restores nothing', async () => {
    const { store } = storeAt(10_000, { maxConversations: 1 });
    await store.recordInbound(key(1), 10_000, 'one');
    await store.recordInbound(key(2), 10_000, 'two');
    expect(await store.get(key(1))).toBeNull();
    expect((await store.recordInbound(key(1), 10_000, 'one')).duplicate).toBe(true);
    expect(await store.get(key(1))).toBeNull();
    expect(await store.get(key(2))).toEqual({ lastInboundAt: 10_000, lastInboundUuid: 'two' });
  });

  it('a retry after the conversation expired is still a duplicate within the dedupe time', async () => {
    const { store, clock } = storeAt(10_000, { ttlMs: 1_000, dedupeTtlMs: 5_000 });
    await store.recordInbound(key(1), 10_000, 'm');
    clock.t = 11_000;
    expect(await store.get(key(1))).toBeNull();
    expect((await store.recordInbound(key(1), 10_900, 'm')).duplicate).toBe(true);
    clock.t = 15_000;
    expect((await store.recordInbound(key(1), 14_900, 'm')).duplicate).toBe(false);
  });

  it('a reused slot carries nothing of the conversation that held it', async () => {
    const { store } = storeAt(10_000, { maxConversations: 1 });
    await store.recordInbound(key(1), 10_000, 'one');
    await store.recordOutbound(key(1), 10_050);
    await store.markClosed(key(1), 10_060, 'user_unavailable');
    await store.delete(key(1));
    await store.recordInbound(key(2), 10_000, 'two');
    expect(await store.get(key(2))).toEqual({ lastInboundAt: 10_000, lastInboundUuid: 'two' });
    expect((await store.recordInbound(key(1), 10_000, 'one')).duplicate).toBe(false);
  });

  it('keeps outbound and close markers through later inbound messages', async () => {
    const { store } = storeAt(10_000);
    await store.recordInbound(key(1), 10_000, 'a');
    await store.recordOutbound(key(1), 10_010);
    await store.markClosed(key(1), 10_020, 'closed_by_platform');
    await store.recordInbound(key(1), 10_030, 'b');
    expect(await store.get(key(1))).toEqual({
      lastInboundAt: 10_030,
      lastInboundUuid: 'b',
      lastOutboundAt: 10_010,
      closedAt: 10_020,
      closedReason: 'closed_by_platform',
    });
  });

  it('holds more conversations than one slot chunk, each with its own state', async () => {
    const { store } = storeAt(10_000);
    for (let n = 0; n < 2_500; n++) await store.recordInbound(key(n), 9_000 + n, `u-${n}`);
    for (const n of [0, 1023, 1024, 2047, 2048, 2499]) {
      expect(await store.get(key(n))).toEqual({ lastInboundAt: 9_000 + n, lastInboundUuid: `u-${n}` });
      expect((await store.recordInbound(key(n), 9_000 + n, `u-${n}`)).duplicate).toBe(true);
    }
  });
});

describe('ConversationSlots: the packing behind the memory store', () => {
  it('keeps each slot apart across chunk boundaries, and reuses a released slot with nothing carried over', () => {
    const slots = new ConversationSlots();
    const taken = Array.from({ length: 2_100 }, () => slots.allocate());
    expect(taken[2_099]).toBe(2_099);
    for (const slot of [0, 1023, 1024, 2099]) {
      slots.setLatest(slot, 1_000 + slot, `u-${slot}`, 5_000 + slot, slot + 1);
      expect(slots.recordOutbound(slot, 2_000 + slot)).toBe(true);
    }
    expect(slots.markClosed(1024, 3_000, 'user_unavailable')).toBe(true);
    slots.recordAdReferral(1024, 1_500);
    expect(slots.state(1023)).toEqual({ lastInboundAt: 2_023, lastInboundUuid: 'u-1023', lastOutboundAt: 3_023 });
    expect(slots.state(1024)).toEqual({
      lastInboundAt: 2_024,
      lastInboundUuid: 'u-1024',
      lastOutboundAt: 3_024,
      closedAt: 3_000,
      closedReason: 'user_unavailable',
      adReferralAt: 1_500,
    });
    expect([slots.seenUntil(2099), slots.seenSeq(2099)]).toEqual([7_099, 2_100]);
    slots.release(1024);
    expect(slots.allocate()).toBe(1024);
    slots.setLatest(1024, 9, 'new', 10, 11);
    expect(slots.state(1024)).toEqual({ lastInboundAt: 9, lastInboundUuid: 'new' });
  });

  it('moves markers only forward: an older send or close changes nothing', () => {
    const slots = new ConversationSlots();
    const slot = slots.allocate();
    slots.setLatest(slot, 100, 'm', 200, 1);
    expect(slots.recordOutbound(slot, 150)).toBe(true);
    expect(slots.recordOutbound(slot, 150)).toBe(false);
    expect(slots.markClosed(slot, 160, 'closed_by_platform')).toBe(true);
    expect(slots.markClosed(slot, 159, 'user_unavailable')).toBe(false);
    expect(slots.markClosed(slot, 160, 'user_unavailable')).toBe(true);
    expect(slots.state(slot)).toMatchObject({ lastOutboundAt: 150, closedAt: 160, closedReason: 'user_unavailable' });
  });
});
