/**
 * The query string of the examples' `GET /windows`, read strictly: durations as people write
 * them in a URL (`30m`, `2h`, `1d`), since `messenger.expiringSoon` takes milliseconds only; a
 * whole-number `limit`; and each parameter given at most once (a repeated `pageId` must not
 * widen the list to every Page).
 */
// In your app: from 'vonage-messenger'.
import { ValidationError } from '../src/index.js';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const invalid = (path: string, message: string, issue: string) =>
  new ValidationError(message, [{ path, message: issue }]);

/** "30m", "2h", "1d" as milliseconds (expiringSoon takes milliseconds only). */
export function durationMs(text: unknown): number {
  const match = typeof text === 'string' ? /^(\d{1,6})([smhd])$/.exec(text) : null;
  if (!match) throw invalid('within', 'within must be a duration such as 30m, 2h or 1d', 'not a duration');
  return Number(match[1]) * (UNIT_MS[match[2] as string] as number);
}

/** `limit` as a whole number, or undefined when absent ("1e3", "0x10" and "" are refused). */
export function limitFrom(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,7}$/.test(text)) throw invalid('limit', 'limit must be a whole number such as 50', 'not a whole number');
  return Number(text);
}

/** The one value of query parameter `name` among `values` (all of its occurrences), or undefined. */
export function once(name: string, values: readonly unknown[]): string | undefined {
  if (values.length > 1 || (values.length === 1 && typeof values[0] !== 'string')) {
    throw invalid(name, `${name} must be given once`, 'given more than once');
  }
  return values[0] as string | undefined;
}
