/**
 * The delivery-lease rule as pure functions over one stored record, for stores that run it in
 * JavaScript (memory, SQLite, key/value stores). Redis and PostgreSQL run the same rule in Lua
 * and SQL; the conformance suite holds all of them to it.
 *
 * @module
 */
import type { DeliveryLease } from './types.js';

/**
 * One event's delivery record: `leased` until `until` by attempt `attempt`, `failed` (the
 * next copy delivers), or `done`.
 */
export interface LeaseRecord {
  state: 'leased' | 'failed' | 'done';
  until: number;
  attempt: number;
}

/**
 * The lease decision for a copy arriving at `now`, and the record to store when it changes.
 *
 * @example
 * ```ts
 * const { lease, record } = takeLease(undefined, 60_000, Date.now()) // acquired, attempt 1
 * ```
 */
export function takeLease(
  current: LeaseRecord | undefined,
  ttlMs: number,
  now: number,
): { lease: DeliveryLease; record?: LeaseRecord } {
  if (current?.state === 'done') return { lease: { state: 'done', attempt: current.attempt, retryAfterMs: 0 } };
  if (current?.state === 'leased' && current.until > now) {
    return { lease: { state: 'held', attempt: current.attempt, retryAfterMs: current.until - now } };
  }
  const attempt = (current?.attempt ?? 0) + 1;
  return {
    lease: { state: 'acquired', attempt, retryAfterMs: 0 },
    record: { state: 'leased', until: now + ttlMs, attempt },
  };
}

/**
 * The record after attempt `attempt` settles, or `undefined` when nothing changes (a failure
 * reported by an attempt that no longer holds the lease).
 *
 * @example
 * ```ts
 * settleLease({ state: 'leased', until: Date.now() + 60_000, attempt: 2 }, 1, false) // undefined: attempt 2 holds it
 * ```
 */
export function settleLease(current: LeaseRecord | undefined, attempt: number, ok: boolean): LeaseRecord | undefined {
  if (ok) return { state: 'done', until: 0, attempt: current?.attempt ?? attempt };
  if (current?.state === 'leased' && current.attempt === attempt) return { ...current, state: 'failed' };
  return undefined;
}
