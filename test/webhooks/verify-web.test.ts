/**
 * The verifier of the Workers build: hmac.ts swapped for hmac-web.ts (Web Crypto), as
 * tsup.worker.config.ts does. Same secrets and inputs as verify-hmac.test.ts, same verdicts;
 * only `check` is asynchronous.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { WebhookVerificationError } from '../../src/errors.js';
import { memoryStore } from '../../src/store/memory.js';
import { inboundText } from '../../src/testing/builders.js';
import { signWebhook } from '../../src/testing/sign.js';
import { createWebhookLayer } from '../../src/webhooks/index.js';
import { createWebhookVerifier } from '../../src/webhooks/verify.js';

vi.mock('../../src/webhooks/hmac.js', () => import('../../src/webhooks/hmac-web.js'));

const body = '{"channel":"messenger","message_type":"text","text":"héllo ✓"}';
const secrets = ['s', 'x'.repeat(63), 'y'.repeat(64), 'z'.repeat(65), 'w'.repeat(300), 'sécret ✓ 🔑'];

const reasonOf = (promise: unknown) =>
  Promise.resolve(promise).then(
    () => undefined,
    (error: unknown) => {
      if (error instanceof WebhookVerificationError) return error.reason;
      throw error;
    },
  );

describe('webhook verification on Web Crypto', () => {
  it('resolves the claims of a valid token for every kind of secret, and refuses another secret', async () => {
    for (const secret of secrets) {
      const verifier = createWebhookVerifier({ signatureSecret: secret });
      const signed = signWebhook(body, secret);
      const checked = verifier.check(signed.token, body);
      expect(checked).toBeInstanceOf(Promise);
      expect((await checked).jti).toBe(signed.claims.jti);
      expect(await reasonOf(verifier.check(signWebhook(body, `${secret}!`).token, body))).toBe('bad_signature');
    }
  });

  it('matches any secret of a rotation, and checks the body hash over the exact bytes', async () => {
    const verifier = createWebhookVerifier({ signatureSecret: ['new', 'old'] });
    expect((await verifier.check(signWebhook(body, 'old').token, new TextEncoder().encode(body))).iss).toBe('Vonage');
    const upper = signWebhook(body, 'new').claims.payload_hash as string;
    expect((await verifier.check(signWebhook(body, 'new', { payloadHash: upper.toUpperCase() }).token, body)).iss).toBe(
      'Vonage',
    );
    expect(await reasonOf(verifier.check(signWebhook(`${body} `, 'new').token, body))).toBe('payload_hash_mismatch');
    expect(await reasonOf(verifier.check(signWebhook(body, 'new', { payloadHash: 'zz' }).token, body))).toBe(
      'payload_hash_mismatch',
    );
  });

  it('accepts exactly the signatures node:crypto computes (any secret, any signing input)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1 }), fc.string(), async (secret, text) => {
        const verifier = createWebhookVerifier({ signatureSecret: secret });
        const signed = signWebhook(text, secret);
        const expected = createHmac('sha256', secret)
          .update(signed.token.slice(0, signed.token.lastIndexOf('.')))
          .digest('base64url');
        expect(signed.token.endsWith(expected)).toBe(true);
        expect((await verifier.check(signed.token, text)).jti).toBe(signed.claims.jti);
      }),
      { numRuns: 50 },
    );
  });

  it('answers a signed webhook 200 and a forged one 401 through the Fetch handler, recording only the first', async () => {
    const store = memoryStore();
    const handler = createWebhookLayer({ store, signatureSecret: 'secret', now: Date.now }).webhookHandler();
    const event = inboundText({ pageId: '102290129340398', psid: '25381719828140932', text: 'hi' });
    const post = (signed: { headers: Record<string, string>; body: string }) =>
      handler(
        new Request('http://bot.local/webhooks/inbound', {
          method: 'POST',
          headers: signed.headers,
          body: signed.body,
        }),
      );
    expect((await post(signWebhook(event, 'forged'))).status).toBe(401);
    expect(await store.get('102290129340398:25381719828140932' as never)).toBeNull();
    expect((await post(signWebhook(event, 'secret'))).status).toBe(200);
    expect(await store.get('102290129340398:25381719828140932' as never)).not.toBeNull();
  });
});
