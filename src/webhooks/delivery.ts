/**
 * The delivery protocol: at most one callback per event in flight across the whole fleet,
 * and exactly one that succeeds, given a store-held lease per event (`SessionStore.lease`).
 *
 * | the event's lease | answer | callback |
 * |---|---|---|
 * | free (first copy, or the last attempt failed or its lease expired) | 200 if the callback resolves, 503 if it throws or outruns `callbackTimeoutMs` | runs; `redelivered` from the second attempt on |
 * | held by a running attempt | 503 + `Retry-After` (Vonage retries later) | not called |
 * | done (an attempt succeeded) | 200 | not called |
 *
 * @module
 */
import { callStore } from '../store/guard.js';
import type { DeliveryLease, SessionStore } from '../store/types.js';

/**
 * Default `webhook.deliveryLeaseMs`: 60 s. Vonage stops waiting for an answer after about
 * 15 s and retries after about 5 s, then with growing waits; a callback that runs longer than
 * the lease may overlap its own redelivery. If a process dies mid-callback, the event is
 * delivered again by the first copy after the lease ends.
 */
export const DEFAULT_DELIVERY_LEASE_MS = 60_000;

/** A copy that arrived while another attempt holds the lease: answered 503 with Retry-After. */
export class DeliveryInProgressError extends Error {
  override readonly name = 'DeliveryInProgressError';
  constructor(readonly retryAfterSeconds: number) {
    super(`This event is being delivered by another request; retry in ${retryAfterSeconds} s`);
  }
}

/** The callback did not settle within `callbackTimeoutMs`: answered 503. */
export class CallbackTimeoutError extends Error {
  override readonly name = 'CallbackTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`The webhook callback did not settle within callbackTimeoutMs (${timeoutMs} ms)`);
  }
}

/** What a delivery needs besides the lease. */
export interface DeliveryOptions {
  store: SessionStore;
  now: () => number;
  /** Answer 503 when the callback has not settled after this long (it keeps running). */
  callbackTimeoutMs?: number | undefined;
  /** Told when settling the lease fails after a successful callback (the answer stays 200). */
  onSettleError?: ((error: unknown) => unknown) | undefined;
  /** Keeps a callback that outran `callbackTimeoutMs` alive after the answer (Workers). */
  waitUntil?: ((promise: Promise<unknown>) => void) | undefined;
}

/**
 * Runs `callback` under `lease`: resolves when the event counts as delivered (answer 200),
 * rejects with {@link DeliveryInProgressError}, {@link CallbackTimeoutError} or the
 * callback's own error (answer 503).
 *
 * @example
 * ```ts
 * const id = '{1029}:inbound:2538:m-1'
 * const lease = await store.lease(id, 60_000, Date.now())
 * await deliver(lease, id, (redelivered) => console.log('deliver', event, { redelivered }), { store, now: Date.now })
 * ```
 */
export async function deliver(
  lease: DeliveryLease,
  id: string,
  callback: (redelivered: boolean) => unknown,
  options: DeliveryOptions,
): Promise<void> {
  if (lease.state === 'done') return;
  if (lease.state === 'held') throw new DeliveryInProgressError(Math.max(1, Math.ceil(lease.retryAfterMs / 1000)));
  const { store, now } = options;
  const settle = (ok: boolean) => callStore('settle', () => store.settle(id, lease.attempt, ok, now()));
  const called = Promise.resolve().then(() => callback(lease.attempt > 1));
  // The callback's outcome settles the lease whenever it comes, even after a timeout answered.
  const settled = called.then(
    () =>
      settle(true).catch(async (error: unknown) => {
        // Delivered: only a copy arriving after the lease could deliver it again.
        await options.onSettleError?.(error);
      }),
    () =>
      settle(false).catch(() => {
        // Unsettled, the lease simply expires: the next copy after it delivers.
      }),
  );
  const timeoutMs = options.callbackTimeoutMs;
  if (timeoutMs === undefined) {
    await called.finally(() => settled);
    return;
  }
  called.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CallbackTimeoutError(timeoutMs)), timeoutMs);
  });
  // The timeout counts the callback only, not the store write that records its outcome.
  const outcome = await Promise.race([called, timeout]).then(
    () => ({ failed: false, error: undefined }),
    (error: unknown) => ({ failed: true, error }),
  );
  clearTimeout(timer);
  if (outcome.error instanceof CallbackTimeoutError) {
    // Answered 503 now; the callback runs on and settles its lease (where the runtime lets it).
    options.waitUntil?.(settled);
    throw outcome.error;
  }
  // Answered once the lease says so, on success and on failure, so that the next copy sees it.
  await settled;
  if (outcome.failed) throw outcome.error;
}
