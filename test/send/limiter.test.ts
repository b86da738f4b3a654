import { describe, expect, it, vi } from 'vitest';
import { ClientRateLimitError, isVonageApiError, StoreError } from '../../src/errors.js';
import { createLimiter, localBuckets } from '../../src/send/limiter.js';
import { memoryStore } from '../../src/store/memory.js';
import type { SessionStore } from '../../src/store/types.js';

/** A clock the fake sleep moves forward, so waits are exact and instant. */
function virtualTime(start = 1_000_000) {
  let now = start;
  const sleeps: number[] = [];
  return {
    clock: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
    sleeps,
  };
}

describe('localBuckets', () => {
  it('allows a burst, then refills at the rate', () => {
    const take = localBuckets();
    for (let i = 0; i < 3; i++) expect(take('b', 10, 3, 0).allowed).toBe(true);
    expect(take('b', 10, 3, 0)).toEqual({ allowed: false, retryAfterMs: 100 });
    expect(take('b', 10, 3, 99).allowed).toBe(false);
    expect(take('b', 10, 3, 100).allowed).toBe(true);
  });

  it('never holds more than the burst', () => {
    const take = localBuckets();
    take('b', 10, 2, 0);
    const later = 60_000;
    expect(take('b', 10, 2, later).allowed).toBe(true);
    expect(take('b', 10, 2, later).allowed).toBe(true);
    expect(take('b', 10, 2, later).allowed).toBe(false);
  });

  it('keeps buckets apart', () => {
    const take = localBuckets();
    expect(take('a', 1, 1, 0).allowed).toBe(true);
    expect(take('a', 1, 1, 0).allowed).toBe(false);
    expect(take('b', 1, 1, 0).allowed).toBe(true);
  });
});

describe('createLimiter', () => {
  it('waits for a token instead of failing when the wait fits in maxWaitMs', async () => {
    const time = virtualTime();
    const limiter = createLimiter({ perSecond: 1, maxWaitMs: 2_000 }, { store: memoryStore(), ...time });
    await limiter.acquire('1029', 'text');
    await limiter.acquire('1029', 'text');
    expect(time.sleeps).toEqual([1000]);
  });

  it('refuses with ClientRateLimitError (not a VonageApiError) when the wait would exceed maxWaitMs', async () => {
    const time = virtualTime();
    const limiter = createLimiter({ perSecond: 1, maxWaitMs: 500 }, { store: memoryStore(), ...time });
    await limiter.acquire('1029', 'text');
    const error = await limiter.acquire('1029', 'text').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClientRateLimitError);
    expect(isVonageApiError(error)).toBe(false);
    expect(error).toMatchObject({ code: 'CLIENT_RATE_LIMITED', pageId: '1029', perSecond: 1, retryAfterMs: 1000 });
    expect(error).not.toHaveProperty('status');
    expect((error as Error).message).toMatch(/Page 1029 .* 1 sends per second; nothing was sent/);
    expect(time.sleeps).toEqual([]);
  });

  it('refuses at once with maxWaitMs 0', async () => {
    const time = virtualTime();
    const limiter = createLimiter({ perSecond: 1, maxWaitMs: 0 }, { store: memoryStore(), ...time });
    await limiter.acquire('1029', 'text');
    await expect(limiter.acquire('1029', 'text')).rejects.toBeInstanceOf(ClientRateLimitError);
  });

  it("uses Meta's limits by default: 300/s for text, 10/s for audio and video", async () => {
    const time = virtualTime();
    const limiter = createLimiter({ maxWaitMs: 0 }, { store: memoryStore(), ...time });
    for (let i = 0; i < 300; i++) await limiter.acquire('1029', 'text');
    await expect(limiter.acquire('1029', 'image')).rejects.toBeInstanceOf(ClientRateLimitError);
    for (let i = 0; i < 10; i++) await limiter.acquire('1029', i % 2 ? 'audio' : 'video');
    await expect(limiter.acquire('1029', 'audio')).rejects.toMatchObject({
      message: expect.stringMatching(/10 audio\/video/),
    });
  });

  it('limits each Page on its own', async () => {
    const time = virtualTime();
    const limiter = createLimiter({ perSecond: 1, maxWaitMs: 0 }, { store: memoryStore(), ...time });
    await limiter.acquire('1', 'text');
    await limiter.acquire('2', 'text');
    await expect(limiter.acquire('1', 'text')).rejects.toBeInstanceOf(ClientRateLimitError);
  });

  it("uses the store's takeToken when it has one (shared across a fleet)", async () => {
    const time = virtualTime();
    const takeToken = vi.fn(async () => ({ allowed: true, retryAfterMs: 0 }));
    const store: SessionStore = { ...memoryStore(), takeToken };
    const limiter = createLimiter({ perSecond: 50, burst: 5 }, { store, ...time });
    await limiter.acquire('1029', 'text');
    await limiter.acquire('1029', 'video');
    expect(takeToken.mock.calls).toEqual([
      ['send:1029', 50, 5, time.clock()],
      ['media:1029', 10, 5, time.clock()],
    ]);
  });

  it('sizes the audio/video burst by mediaPerSecond, not by a burst meant for text', async () => {
    const time = virtualTime();
    const limiter = createLimiter(
      { perSecond: 100, mediaPerSecond: 1, burst: 50, maxWaitMs: 0 },
      { store: memoryStore(), ...time },
    );
    for (let i = 0; i < 50; i++) await limiter.acquire('1029', 'text');
    await expect(limiter.acquire('1029', 'text')).rejects.toBeInstanceOf(ClientRateLimitError);
    await limiter.acquire('1029', 'audio');
    await expect(limiter.acquire('1029', 'video')).rejects.toBeInstanceOf(ClientRateLimitError);
  });

  it('keeps a burst smaller than one second of media for audio and video too', async () => {
    const time = virtualTime();
    const limiter = createLimiter(
      { perSecond: 100, mediaPerSecond: 10, burst: 1, maxWaitMs: 0 },
      { store: memoryStore(), ...time },
    );
    await limiter.acquire('1029', 'video');
    await expect(limiter.acquire('1029', 'video')).rejects.toBeInstanceOf(ClientRateLimitError);
  });

  it("waits as long as the store's takeToken says", async () => {
    const time = virtualTime();
    const takeToken = vi
      .fn<NonNullable<SessionStore['takeToken']>>()
      .mockResolvedValueOnce({ allowed: false, retryAfterMs: 40 })
      .mockResolvedValueOnce({ allowed: true, retryAfterMs: 0 });
    const limiter = createLimiter({}, { store: { ...memoryStore(), takeToken }, ...time });
    await limiter.acquire('1029', 'text');
    expect(time.sleeps).toEqual([40]);
    expect(takeToken).toHaveBeenCalledTimes(2);
  });

  it('a failing takeToken is a StoreError (fail closed)', async () => {
    const takeToken = vi.fn(async () => {
      throw new Error('ECONNREFUSED 127.0.0.1:6379');
    });
    const limiter = createLimiter({}, { store: { ...memoryStore(), takeToken } });
    await expect(limiter.acquire('1029', 'text')).rejects.toBeInstanceOf(StoreError);
  });
});
