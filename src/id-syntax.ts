/**
 * The spelling of a Page ID or PSID, written once: the zod schemas of ids.ts and the send
 * path's fast input check (send/fast-input.ts) both read it from here. Internal: not
 * re-exported by the package entry.
 *
 * @module
 */

/** Longest accepted ID. Meta's IDs are 64-bit (≤ 20 digits); Vonage accepts ≤ 50 chars. */
export const MAX_ID_DIGITS = 32;

/** Digits only: IDs stay strings (real PSIDs exceed 2^53). */
export const DIGITS = /^[0-9]+$/;

/**
 * True when `value` is an ID string the schemas accept as it is (1 to {@link MAX_ID_DIGITS}
 * digits); numbers, bigints and anything refused are left to the schemas.
 */
export function isPlainIdString(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_ID_DIGITS && DIGITS.test(value);
}
