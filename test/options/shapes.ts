/**
 * Every option shape `createMessenger` accepts, run against one store: a signed inbound
 * webhook through `webhookHandler`, then a send. An option value that one backend cannot
 * store (a fractional burst on Redis, a fractional claim TTL) fails here, not in production.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { createMessenger, type MessengerOptions } from '../../src/messenger.js';
import type { SessionStore } from '../../src/store/types.js';
import { signWebhook } from '../../src/testing/sign.js';
import { accepted, type FakeApi, startFakeApi } from '../send/fake-api.js';

const SECRET = 'option-shapes-secret';

/** Each accepted shape, with the boundary values that used to break a backend. */
export const ACCEPTED_SHAPES: readonly [string, Partial<MessengerOptions>][] = [
  ['defaults', {}],
  ['rateLimit: true', { rateLimit: true }],
  ['fractional perSecond', { rateLimit: { perSecond: 2.5 } }],
  ['rates below 1/s', { rateLimit: { perSecond: 0.5, mediaPerSecond: 0.25 } }],
  [
    'every rateLimit field at odd values',
    { rateLimit: { perSecond: 1000.7, mediaPerSecond: 10.01, burst: 3, maxWaitMs: 0 } },
  ],
  [
    'rateLimit at its maxima',
    { rateLimit: { perSecond: 100_000, mediaPerSecond: 100_000, burst: 1_000_000, maxWaitMs: 2_147_483_647 } },
  ],
  ['fractional toleranceSeconds', { webhook: { toleranceSeconds: 64.1 } }],
  ['toleranceSeconds 5.001', { webhook: { toleranceSeconds: 5.001 } }],
  ['toleranceSeconds at its maximum', { webhook: { toleranceSeconds: 86_400 } }],
  ['delivery lease and callback timeout', { webhook: { deliveryLeaseMs: 1000, callbackTimeoutMs: 1 } }],
  ['delivery lease at its maximum', { webhook: { deliveryLeaseMs: 2_147_483_647, callbackTimeoutMs: 2_147_483_647 } }],
  ['maxBodyBytes just above a webhook', { webhook: { maxBodyBytes: 2000 } }],
  ['safetyMarginMs 0', { safetyMarginMs: 0 }],
  ['safetyMarginMs an hour', { safetyMarginMs: 3_600_000 }],
  ['timeoutMs at its maximum', { timeoutMs: 2_147_483_647 }],
  ['retry off', { retry: false }],
  ['retry at its maxima', { retry: { retries: 10, baseDelayMs: 0, maxDelayMs: 2_147_483_647 } }],
];

/** Shapes refused at createMessenger with a ValidationError (never a runtime StoreError). */
export const REFUSED_SHAPES: readonly [string, Partial<MessengerOptions>][] = [
  ['fractional burst', { rateLimit: { burst: 2.5 } }],
  ['perSecond above 100 000', { rateLimit: { perSecond: 1e9 } }],
  ['toleranceSeconds above a day', { webhook: { toleranceSeconds: 1e9 } }],
  ['a lease under a second', { webhook: { deliveryLeaseMs: 500 } }],
  ['a fractional lease', { webhook: { deliveryLeaseMs: 1500.5 } }],
  ['a timer past 2^31 - 1 ms', { timeoutMs: 2 ** 31 }],
  ['maxWaitMs past 2^31 - 1 ms', { rateLimit: { maxWaitMs: 2 ** 31 } }],
];

export function describeOptionShapes(name: string, makeStore: () => SessionStore | Promise<SessionStore>): void {
  describe(`every accepted option shape works on ${name}`, () => {
    let api: FakeApi;
    beforeAll(async () => {
      api = await startFakeApi();
    });
    afterAll(async () => {
      await api.close();
    });

    for (const [label, shape] of ACCEPTED_SHAPES) {
      it(`${label}: a signed webhook is answered 200 and the reply is sent`, async () => {
        const page = String(100_000_000 + Math.floor(Math.random() * 899_999_999));
        const user = String(2_000_000_000 + Math.floor(Math.random() * 999_999_999));
        const messenger = createMessenger({
          apiKey: 'test-api-key',
          apiSecret: 'secret',
          signatureSecret: SECRET,
          apiHost: api.url,
          store: await makeStore(),
          pages: [page],
          ...shape,
        });
        try {
          const seen: string[] = [];
          const handler = messenger.webhookHandler({ onMessage: (event) => void seen.push(event.messageUuid) });
          const uuid = randomUUID();
          const signed = signWebhook(
            {
              channel: 'messenger',
              message_uuid: uuid,
              to: page,
              from: user,
              timestamp: new Date().toISOString(),
              message_type: 'text',
              text: 'Hello',
            },
            SECRET,
          );
          const response = await handler(
            new Request('http://localhost/', { method: 'POST', headers: signed.headers, body: signed.body }),
          );
          expect(response.status).toBe(200);
          expect(seen).toEqual([uuid]);
          api.replies.push(accepted());
          const sent = await messenger.sendText({ from: page, to: user, text: 'Hi!' });
          expect(sent.category).toBe('response');
        } finally {
          await messenger.close();
        }
      }, 20_000);
    }

    it('refuses the shapes no store can honour with a ValidationError at createMessenger', async () => {
      for (const [label, shape] of REFUSED_SHAPES) {
        const make = async () =>
          createMessenger({ apiKey: 'k', apiSecret: 's', signatureSecret: SECRET, store: await makeStore(), ...shape });
        await expect(make(), label).rejects.toBeInstanceOf(ValidationError);
      }
    });
  });
}
