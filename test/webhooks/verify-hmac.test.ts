/**
 * The verifier computes HMAC-SHA256 from two one-shot hashes over prepared padded keys. These
 * check it against node:crypto's createHmac for every kind of secret (short, one block, longer
 * than a block so it is hashed first, non-ASCII) and signing input (non-ASCII, lone surrogates),
 * and that the payload_hash comparison still accepts uppercase hex and refuses everything else.
 */
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WebhookVerificationError } from '../../src/errors.js';
import { signWebhook } from '../../src/testing/sign.js';
import type { WebhookClaims } from '../../src/webhooks/verify.js';
import { createWebhookVerifier } from '../../src/webhooks/verify.js';

/** The claims check is synchronous on node:crypto (the Workers build's Web Crypto one is not). */
function sync(claims: WebhookClaims | Promise<WebhookClaims>): WebhookClaims {
  if (claims instanceof Promise) throw new Error('check() returned a Promise on node:crypto');
  return claims;
}

const body = '{"channel":"messenger","message_type":"text","text":"héllo ✓"}';
const secrets = ['s', 'x'.repeat(63), 'y'.repeat(64), 'z'.repeat(65), 'w'.repeat(300), 'sécret ✓ 🔑'];

function reasonOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof WebhookVerificationError) return error.reason;
    throw error;
  }
}

describe('webhook HMAC-SHA256', () => {
  it.each(secrets.map((s) => [s.length, s] as const))(
    'accepts a token signed with a %i-character secret',
    (_n, secret) => {
      const signed = signWebhook(body, secret);
      const verifier = createWebhookVerifier({ signatureSecret: secret });
      expect(sync(verifier.check(signed.token, body)).jti).toBe(signed.claims.jti);
      // Twice in a row: the prepared buffers are reused between calls.
      const next = signWebhook(body, secret);
      expect(sync(verifier.check(next.token, body)).jti).toBe(next.claims.jti);
    },
  );

  it.each(secrets.map((s) => [s.length, s] as const))(
    'refuses a token signed with another secret (%i characters)',
    (_n, secret) => {
      const signed = signWebhook(body, `${secret}!`);
      const verifier = createWebhookVerifier({ signatureSecret: secret });
      expect(reasonOf(() => verifier.check(signed.token, body))).toBe('bad_signature');
    },
  );

  it('matches createHmac on a non-ASCII signing input (a lone surrogate included)', () => {
    const secret = 'k'.repeat(40);
    const header = 'eyJhbGciOiJIUzI1NiJ9';
    const payload = Buffer.from(
      JSON.stringify({
        iss: 'Vonage',
        iat: Math.floor(Date.now() / 1000),
        jti: 'j-1',
        payload_hash: createHash('sha256').update(body).digest('hex'),
      }),
    ).toString('base64url');
    // The signature covers the exact characters; a forged segment with odd characters must be
    // refused exactly as createHmac would refuse it, and one signed over them accepted.
    for (const extra of ['', 'é', '\ud800', '✓🔑']) {
      const input = `${header}${extra}.${payload}`;
      const signature = createHmac('sha256', secret).update(input).digest('base64url');
      const verifier = createWebhookVerifier({ signatureSecret: secret });
      const reason = reasonOf(() => verifier.check(`${input}.${signature}`, body));
      // With extra characters the header may no longer decode; the signature itself matched.
      expect(reason === undefined || reason === 'malformed_token').toBe(true);
      const forged = createHmac('sha256', secret).update(`${input}x`).digest('base64url');
      expect(reasonOf(() => verifier.check(`${input}.${forged}`, body))).toBe('bad_signature');
    }
  });

  it('accepts payload_hash in uppercase hex and refuses a hash of other bytes', () => {
    const secret = 'k'.repeat(40);
    const verifier = createWebhookVerifier({ signatureSecret: secret });
    const upper = createHash('sha256').update(body).digest('hex').toUpperCase();
    expect(sync(verifier.check(signWebhook(body, secret, { payloadHash: upper }).token, body)).iss).toBe('Vonage');
    const other = createHash('sha256').update(`${body} `).digest('hex');
    expect(reasonOf(() => verifier.check(signWebhook(body, secret, { payloadHash: other }).token, body))).toBe(
      'payload_hash_mismatch',
    );
    expect(reasonOf(() => verifier.check(signWebhook(body, secret, { payloadHash: 'zz' }).token, body))).toBe(
      'payload_hash_mismatch',
    );
    const bytes = new TextEncoder().encode(body);
    expect(sync(verifier.check(signWebhook(body, secret).token, bytes)).iss).toBe('Vonage');
  });
});
