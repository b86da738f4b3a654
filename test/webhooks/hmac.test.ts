/** The hand-tuned HMAC-SHA256 and SHA-256 of hmac.ts against node:crypto's plain calls. */
import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hmacSha256, keyFor, prepareHmac, sha256Hex } from '../../src/webhooks/hmac.js';

describe('webhook hmac module', () => {
  it('hmacSha256 equals createHmac for any secret and any signing input', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 200 }), fc.string({ maxLength: 600 }), (secret, message) => {
        const expected = createHmac('sha256', secret).update(message).digest();
        expect(Buffer.from(hmacSha256(prepareHmac(secret), message)).equals(expected)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('keyFor prepares a secret once and returns the same key after', () => {
    expect(keyFor('cached-secret')).toBe(keyFor('cached-secret'));
    expect(keyFor('cached-secret')).not.toBe(keyFor('other-secret'));
  });

  it('sha256Hex hashes a string as its UTF-8 bytes, like the bytes themselves', () => {
    const text = 'héllo ✓ {"a":1}';
    const hex = createHash('sha256').update(text, 'utf8').digest('hex');
    expect(sha256Hex(text)).toBe(hex);
    expect(sha256Hex(Buffer.from(text, 'utf8'))).toBe(hex);
  });
});
