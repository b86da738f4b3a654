/**
 * A client-side token bucket per Page, so that an app stays under Meta's Send API limits
 * (300 calls/s per Page for text, links, reactions and stickers; 10 calls/s for audio and
 * video — Meta, "Messenger Platform rate limits", 2026-03-23) instead of collecting 429s.
 *
 * A store with `takeToken` (Redis) shares the buckets across a fleet; otherwise the buckets
 * live in this process. When the bucket is empty the send waits for a token, up to
 * `maxWaitMs`, then fails with `ClientRateLimitError` (nothing was sent; not a
 * `VonageApiError`: Vonage was never asked).
 *
 * Buckets use real time (`Date.now`), never the messenger's `now` option: the platform's
 * limit is counted in real seconds.
 *
 * @module
 */
import { ClientRateLimitError } from '../errors.js';
import { callStore } from '../store/guard.js';
import type { SessionStore, TokenDecision } from '../store/types.js';
import type { MessengerMessageType } from './transport.js';

/** Options of the per-Page limiter (`createMessenger({ rateLimit })`). */
export interface RateLimitOptions {
  /** Sends per second per Page for text, image and file. Default 300 (Meta's Send API limit). */
  perSecond?: number | undefined;
  /** Sends per second per Page for audio and video. Default 10 (Meta's limit for audio/video). */
  mediaPerSecond?: number | undefined;
  /**
   * Largest burst; default one second's worth of each rate. Audio and video burst at most one
   * second's worth of `mediaPerSecond` (Meta's 10/s for them is the tighter limit, and a burst
   * sized for text would break it).
   */
  burst?: number | undefined;
  /** How long a send may wait for a token before `ClientRateLimitError`. Default 1 000 ms; 0 refuses at once. */
  maxWaitMs?: number | undefined;
}

/** Decides whether a send from a Page may go now; waits or throws `ClientRateLimitError`. */
export interface Limiter {
  acquire(pageId: string, messageType: MessengerMessageType): Promise<void>;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Most buckets kept in process memory; the least recently used is dropped (refilled, it would be full anyway). */
const MAX_LOCAL_BUCKETS = 10_000;

/** An in-process token bucket, the fallback for stores without `takeToken`. */
export function localBuckets(): (bucket: string, rate: number, burst: number, now: number) => TokenDecision {
  const buckets = new Map<string, Bucket>();
  return (name, rate, burst, now) => {
    let bucket = buckets.get(name);
    if (bucket === undefined) {
      bucket = { tokens: burst, updatedAt: now };
      if (buckets.size >= MAX_LOCAL_BUCKETS) {
        const oldest = buckets.keys().next().value;
        if (oldest !== undefined) buckets.delete(oldest);
      }
      buckets.set(name, bucket);
    } else if (now > bucket.updatedAt) {
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.updatedAt) * rate) / 1000);
      bucket.updatedAt = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true, retryAfterMs: 0 };
    }
    return { allowed: false, retryAfterMs: Math.ceil(((1 - bucket.tokens) * 1000) / rate) };
  };
}

/** Options of {@link createLimiter} beyond {@link RateLimitOptions}. */
export interface LimiterDeps {
  store: SessionStore;
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The per-Page limiter. Audio and video share one bucket per Page; text, image and file
 * share another (Meta names only text and audio/video; images and files count as text here).
 */
export function createLimiter(options: RateLimitOptions, deps: LimiterDeps): Limiter {
  const perSecond = options.perSecond ?? 300;
  const mediaPerSecond = options.mediaPerSecond ?? 10;
  const maxWaitMs = options.maxWaitMs ?? 1_000;
  const clock = deps.clock ?? Date.now;
  const sleep = deps.sleep ?? defaultSleep;
  const { store } = deps;
  const local = localBuckets();
  const shared = typeof store.takeToken === 'function';

  const take = (bucket: string, rate: number, burst: number, now: number): TokenDecision | Promise<TokenDecision> =>
    shared
      ? callStore('takeToken', () =>
          (store.takeToken as NonNullable<SessionStore['takeToken']>)(bucket, rate, burst, now),
        )
      : local(bucket, rate, burst, now);

  return {
    async acquire(pageId, messageType) {
      const slow = messageType === 'audio' || messageType === 'video';
      const rate = slow ? mediaPerSecond : perSecond;
      // A store's bucket holds whole tokens: a fractional rate's default burst rounds down.
      const wanted = options.burst ?? rate;
      const burst = Math.max(1, Math.floor(slow ? Math.min(wanted, rate) : wanted));
      const bucket = slow ? `media:${pageId}` : `send:${pageId}`;
      const deadline = clock() + maxWaitMs;
      for (;;) {
        const now = clock();
        const decision = await take(bucket, rate, burst, now);
        if (decision.allowed) return;
        const wait = Math.max(1, decision.retryAfterMs);
        if (now + wait > deadline) {
          throw new ClientRateLimitError(
            `Page ${pageId} is over the client-side limit of ${rate} ${slow ? 'audio/video ' : ''}sends per second; nothing was sent. Retry after ${wait} ms, or raise rateLimit (createMessenger({ rateLimit: { ... } })).`,
            { pageId, perSecond: rate, retryAfterMs: wait },
          );
        }
        await sleep(wait);
      }
    },
  };
}
