import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { answerHeaders } from '../../src/send/http-transport.js';

/** The plain reading: the first header whose lower-cased name matches. */
const firstOf = (raw: string[], name: string): string | null => {
  for (let i = 0; i + 1 < raw.length; i += 2)
    if ((raw[i] as string).toLowerCase() === name) return raw[i + 1] as string;
  return null;
};

describe('answerHeaders', () => {
  it('finds the three headers in any case and ignores the others', () => {
    expect(
      answerHeaders([
        'Content-Type',
        'application/json',
        'KEEP-ALIVE',
        'timeout=5',
        'Retry-After',
        '2',
        'X-RateLimit-Reset',
        '1769182705723',
        'Content-Length',
        '40',
      ]),
    ).toEqual({ keepAlive: 'timeout=5', retryAfter: '2', rateLimitReset: '1769182705723' });
  });

  it('answers null for an absent header, and keeps the first of a repeated one', () => {
    expect(answerHeaders(['retry-after', '1', 'Retry-After', '9'])).toEqual({
      keepAlive: null,
      retryAfter: '1',
      rateLimitReset: null,
    });
    expect(answerHeaders([])).toEqual({ keepAlive: null, retryAfter: null, rateLimitReset: null });
  });

  it('agrees with a plain case-insensitive search on any header list', () => {
    const name = fc.oneof(
      fc.constantFrom(
        'keep-alive',
        'Keep-Alive',
        'retry-after',
        'RETRY-AFTER',
        'x-ratelimit-reset',
        'X-RateLimit-Reset',
      ),
      fc.constantFrom('keep-alivex', 'retry-afte', 'x-ratelimit-resets', 'x-ratelimit-limit', 'date'),
      fc.string({ maxLength: 20 }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(name, fc.string({ maxLength: 12 })), { maxLength: 12 }), (pairs) => {
        const raw = pairs.flat();
        expect(answerHeaders(raw)).toEqual({
          keepAlive: firstOf(raw, 'keep-alive'),
          retryAfter: firstOf(raw, 'retry-after'),
          rateLimitReset: firstOf(raw, 'x-ratelimit-reset'),
        });
      }),
    );
  });
});
