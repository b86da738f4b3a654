/**
 * Durations as people write them in a URL (`30m`, `2h`, `1d`), for the examples' `GET /windows`:
 * `messenger.expiringSoon` takes milliseconds only, so a route parses its query string first.
 */
// In your app: from 'vonage-messenger'.
import { ValidationError } from '../src/index.js';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30m", "2h", "1d" as milliseconds (expiringSoon takes milliseconds only). */
export function durationMs(text: unknown): number {
  const match = typeof text === 'string' ? /^(\d{1,6})([smhd])$/.exec(text) : null;
  if (!match) {
    throw new ValidationError('within must be a duration such as 30m, 2h or 1d', [
      { path: 'within', message: 'not a duration' },
    ]);
  }
  return Number(match[1]) * (UNIT_MS[match[2] as string] as number);
}
