/**
 * The argument checks of the testing kit: the sandbox and its controls, the builders,
 * `signWebhook` and the msw helpers. A mistake in a test's setup must fail where it is made,
 * not as a wrong verdict or a silent default three steps later.
 *
 * One rule for the whole kit, the one the sandbox followed from the start (`advance`,
 * `throttle` and `signatureSecret`): a number or a date that is out of range (negative, not
 * an integer, an invalid Date, a code not in the list) is a `RangeError`; anything else (a
 * wrong type, a missing or unknown name, a string that is not one of the allowed words, not
 * an ID or not a URL) is a `TypeError`. Each message starts with the function and names the
 * argument, with the value it got.
 *
 * @module
 */
import { isPlainIdString, MAX_ID_DIGITS } from '../../id-syntax.js';
import { isDate } from '../../is-date.js';
import { shown as shownValue, unknownOptions } from '../../store/shared.js';

/** A value in a message, as the stores show theirs; `undefined` reads better as "nothing". */
const shown = (value: unknown): string => (value === undefined ? 'nothing' : shownValue(value));

/** The `TypeError` for `name` of `where`, which must be `expected`. */
export const typeError = (where: string, name: string, expected: string, value: unknown): TypeError =>
  new TypeError(`${where}: ${name} must be ${expected}, got ${shown(value)}`);

/** The `RangeError` for `name` of `where`, which must be `expected`. */
export const rangeError = (where: string, name: string, expected: string, value: unknown): RangeError =>
  new RangeError(`${where}: ${name} must be ${expected}, got ${shown(value)}`);

/**
 * `value` is an object whose own names are all in `names` (typed against the options type by
 * the caller, so a new option cannot be forgotten here): a typo such as `webhookURL` or
 * `pageId` would otherwise fall back to a default without a word.
 */
export function checkNames<T extends object>(
  value: unknown,
  where: string,
  names: Readonly<Record<keyof T, true>>,
): asserts value is Partial<Record<keyof T, unknown>> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${where} needs an object of options (${Object.keys(names).join(', ')}), got ${shown(value)}`);
  }
  const unknown = unknownOptions(value, names, where);
  if (unknown !== undefined) throw new TypeError(unknown.message);
}

/** A Page ID or PSID: a string of 1 to 32 digits, as the SDK's IDs (a number would lose digits). */
export function checkId(value: unknown, where: string, name: string): asserts value is string {
  if (!isPlainIdString(value)) throw typeError(where, name, `a string of 1 to ${MAX_ID_DIGITS} digits`, value);
}

/** A non-empty string. */
export function checkText(value: unknown, where: string, name: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) throw typeError(where, name, 'a non-empty string', value);
}

/** A string (empty allowed: an odd claim or body may be one on purpose). */
export function checkString(value: unknown, where: string, name: string): asserts value is string {
  if (typeof value !== 'string') throw typeError(where, name, 'a string', value);
}

/** One of the words in `allowed`. */
export function checkWord<T extends string>(
  value: unknown,
  where: string,
  name: string,
  allowed: readonly T[],
): asserts value is T {
  if (!(allowed as readonly unknown[]).includes(value))
    throw typeError(where, name, `one of ${allowed.join(', ')}`, value);
}

export function checkBoolean(value: unknown, where: string, name: string): asserts value is boolean {
  if (typeof value !== 'boolean') throw typeError(where, name, 'true or false', value);
}

export function checkFunction(
  value: unknown,
  where: string,
  name: string,
): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw typeError(where, name, 'a function', value);
}

/** A plain object (not null, not an array). */
export function checkObject(value: unknown, where: string, name: string): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw typeError(where, name, 'an object', value);
}

/** An http(s) URL: anything else could never receive a webhook. */
export function checkUrl(value: unknown, where: string, name: string): asserts value is string {
  let protocol: string | undefined;
  try {
    protocol = typeof value === 'string' ? new URL(value).protocol : undefined;
  } catch {}
  if (protocol !== 'http:' && protocol !== 'https:') throw typeError(where, name, 'an http(s) URL', value);
}

/** An integer from `min` to `max`: a `TypeError` for a non-number, a `RangeError` for a number out of range. */
export function checkInteger(
  value: unknown,
  where: string,
  name: string,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
): asserts value is number {
  const expected = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
  if (typeof value !== 'number') throw typeError(where, name, expected, value);
  if (!Number.isInteger(value) || value < min || value > max) throw rangeError(where, name, expected, value);
}

/** A duration in ms above 0 (fractions allowed, as the SDK's policies allow them). */
export function checkDuration(value: unknown, where: string, name: string): asserts value is number {
  if (typeof value !== 'number') throw typeError(where, name, 'a number of milliseconds > 0', value);
  if (!Number.isFinite(value) || value <= 0) throw rangeError(where, name, 'a number of milliseconds > 0', value);
}

/** A valid `Date`: an invalid one (`new Date('x')`) is a `RangeError`, as `toISOString` would throw. */
export function checkDate(value: unknown, where: string, name: string): asserts value is Date {
  if (!isDate(value)) throw typeError(where, name, 'a Date', value);
  if (Number.isNaN(value.getTime())) throw new RangeError(`${where}: ${name} is an invalid Date`);
}

/** A `Date` or epoch milliseconds, as a valid instant in epoch ms. */
export function checkInstant(value: unknown, where: string, name: string): number {
  if (typeof value === 'number') {
    // new Date() takes ±8.64e15 ms; beyond, toISOString throws a bare "Invalid time value".
    if (!Number.isFinite(value) || Math.abs(value) > 8.64e15) {
      throw rangeError(where, name, 'finite epoch milliseconds', value);
    }
    return value;
  }
  if (!isDate(value)) throw typeError(where, name, 'a Date or epoch milliseconds', value);
  checkDate(value, where, name);
  return value.getTime();
}

/** A `Retry-After` in seconds: HTTP's delay-seconds is a whole number ≥ 0 (RFC 9110, 10.2.3). */
export function checkRetryAfter(value: unknown, where: string, name: string): asserts value is number {
  checkInteger(value, where, name, 0);
}
