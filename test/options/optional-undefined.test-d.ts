/**
 * Under exactOptionalPropertyTypes (this project's tsconfig, and many users'), an optional
 * field must take `undefined`: `apiHost: process.env.VONAGE_API_HOST` is how apps pass one.
 */
import { expectTypeOf, it } from 'vitest';
import { createMessenger, createWebhookVerifier, definePolicy, type Messenger } from '../../src/index.js';
import { memoryStore } from '../../src/store/memory.js';
import { redisStore } from '../../src/store/redis.js';
import { createSandbox, inboundText, signWebhook } from '../../src/testing/index.js';

declare const maybe: string | undefined;
declare const maybeNumber: number | undefined;
declare const messenger: Messenger;
declare const client: Parameters<typeof redisStore>[0]['client'];

it('takes undefined for every optional option and input field an app fills from the environment', () => {
  expectTypeOf(createMessenger).toBeCallableWith({
    apiKey: 'k',
    apiSecret: 's',
    apiHost: maybe,
    timeoutMs: maybeNumber,
  });
  expectTypeOf(messenger.sendText).toBeCallableWith({ from: '1', to: '2', text: 'hi', clientRef: maybe, tag: maybe });
  expectTypeOf(memoryStore).toBeCallableWith({ ttlMs: maybeNumber });
  expectTypeOf(redisStore).toBeCallableWith({ client, prefix: maybe });
  expectTypeOf(createWebhookVerifier).toBeCallableWith({ signatureSecret: 's', applicationId: maybe });
  expectTypeOf(definePolicy).toBeCallableWith({ safetyMarginMs: maybeNumber });
  expectTypeOf(createSandbox).toBeCallableWith({ signatureSecret: 's', webhookUrl: maybe });
  expectTypeOf(signWebhook).toBeCallableWith('{}', 's', { applicationId: maybe });
  expectTypeOf(inboundText).toBeCallableWith({ text: maybe });
});
