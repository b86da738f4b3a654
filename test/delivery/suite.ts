/**
 * The delivery protocol as production meets it, on any store: a bot whose callback takes
 * 300 ms (or fails, or hangs) while Vonage sends copies of the event, each signed with a
 * fresh token, to two messenger instances that share the store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createMessenger, type Messenger } from '../../src/messenger.js';
import type { SessionStore } from '../../src/store/types.js';
import type { WebhookCallbacks, WebhookContext, WebhookFetchHandler } from '../../src/webhooks/index.js';
import { copyOf, DELIVERY_SECRET, freshInbound } from './webhooks.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Registers the delivery tests for a store. `makeStore` is called once per messenger
 * instance (two instances share one backend); `release` closes what it opened.
 */
export function describeDelivery(name: string, makeStore: () => SessionStore | Promise<SessionStore>): void {
  describe(`exactly-once delivery to a slow bot: ${name}`, () => {
    const opened: Messenger[] = [];
    afterEach(async () => {
      for (const m of opened.splice(0)) await m.close();
    });

    /** Two messenger instances on one store (a fleet of two), each with the same callbacks. */
    async function fleet(
      callbacks: WebhookCallbacks,
      webhook: { deliveryLeaseMs?: number; callbackTimeoutMs?: number } = {},
      settleDelayMs = 0,
    ) {
      const handlers: WebhookFetchHandler[] = [];
      for (let i = 0; i < 2; i++) {
        const store = await makeStore();
        // A store slow to record an outcome, as one a network hop away under load is.
        const settle: SessionStore['settle'] = async (...args) => {
          await sleep(settleDelayMs);
          return store.settle(...args);
        };
        const m = createMessenger({
          apiKey: 'test-api-key',
          apiSecret: 'secret',
          signatureSecret: DELIVERY_SECRET,
          store: new Proxy(store, { get: (target, key) => (key === 'settle' ? settle : Reflect.get(target, key)) }),
          webhook,
        });
        opened.push(m);
        handlers.push(m.webhookHandler(callbacks));
      }
      return handlers as [WebhookFetchHandler, WebhookFetchHandler];
    }

    /** A callback that runs at least 300 ms and until the test opens the gate. */
    function slowCallback(fail: (call: number) => boolean = () => false) {
      let started: () => void = () => {};
      let open: () => void = () => {};
      const state = {
        calls: 0,
        outcomes: [] as string[],
        started: new Promise<void>((resolve) => (started = resolve)),
        gate: new Promise<void>((resolve) => (open = resolve)),
        open: () => open(),
      };
      const onMessage = async (_event: unknown, context: WebhookContext) => {
        state.calls += 1;
        const call = state.calls;
        started();
        await Promise.all([sleep(300), state.gate]);
        if (fail(call)) {
          state.outcomes.push('failed');
          throw new Error('CRM is down');
        }
        state.outcomes.push(`ok redelivered=${context.redelivered}`);
      };
      return { state, onMessage };
    }

    it('a 300 ms callback with copies arriving during it: one callback; copies 503 + Retry-After; later copies 200', async () => {
      const { state, onMessage } = slowCallback();
      const [a, b] = await fleet({ onMessage });
      const { body } = freshInbound();
      const first = a(copyOf(body));
      await state.started;
      const during = await Promise.all([a, b, a, b].map((h) => h(copyOf(body))));
      for (const response of during) {
        expect(response.status).toBe(503);
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(await response.json()).toEqual({ status: 503, error: 'delivery_in_progress' });
      }
      state.open();
      expect((await first).status).toBe(200);
      const after = await Promise.all([a, b].map((h) => h(copyOf(body))));
      expect(after.map((r) => r.status)).toEqual([200, 200]);
      expect(state.outcomes).toEqual(['ok redelivered=false']);
    }, 30_000);

    it('ten copies at the same instant: one callback', async () => {
      const { state, onMessage } = slowCallback();
      state.open();
      const [a, b] = await fleet({ onMessage });
      const { body } = freshInbound();
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b)(copyOf(body))));
      expect(state.calls).toBe(1);
      // The one that ran the callback answered 200; the others 503 (while it ran) or 200 (after).
      for (const r of answers) expect([200, 503]).toContain(r.status);
      expect(state.outcomes).toEqual(['ok redelivered=false']);
    }, 30_000);

    it('a callback that fails after 300 ms, then retries: exactly one successful callback, redelivered', async () => {
      const { state, onMessage } = slowCallback((call) => call === 1);
      const [a, b] = await fleet({ onMessage });
      const { body } = freshInbound();
      const first = a(copyOf(body));
      await state.started;
      expect((await b(copyOf(body))).status).toBe(503); // held while the first attempt runs
      state.open();
      expect((await first).status).toBe(503); // the callback threw
      expect((await b(copyOf(body))).status).toBe(200); // the retry delivers
      expect((await a(copyOf(body))).status).toBe(200); // delivered: not again
      expect(state.outcomes).toEqual(['failed', 'ok redelivered=true']);
    }, 30_000);

    it('a callback that throws at once under callbackTimeoutMs: answered 503 after its failure is recorded, so the next copy delivers', async () => {
      let calls = 0;
      const [a, b] = await fleet(
        {
          onMessage: () => {
            calls += 1;
            if (calls === 1) throw new Error('CRM is down');
          },
        },
        { callbackTimeoutMs: 5000 },
        150,
      );
      const { body } = freshInbound();
      const first = await a(copyOf(body));
      expect(await first.json()).toEqual({ status: 503, error: 'temporarily_unavailable' });
      // Sent the moment the 503 arrives, as Vonage may: the lease already says "failed".
      expect((await b(copyOf(body))).status).toBe(200);
      expect(calls).toBe(2);
    }, 30_000);

    it('a hanging callback: 503 after callbackTimeoutMs, copies held, a copy after the lease delivers', async () => {
      const redelivered: boolean[] = [];
      const [a, b] = await fleet(
        {
          onMessage: (_event, context) => {
            redelivered.push(context.redelivered);
            // The first attempt hangs for good; the redelivery answers at once.
            return context.redelivered ? undefined : new Promise(() => {});
          },
        },
        { deliveryLeaseMs: 2000, callbackTimeoutMs: 200 },
      );
      const { body } = freshInbound();
      const first = await a(copyOf(body));
      expect(first.status).toBe(503);
      expect(await first.json()).toEqual({ status: 503, error: 'callback_timeout' });
      expect((await b(copyOf(body))).status).toBe(503); // the hung attempt still holds the lease
      await sleep(2000);
      expect((await b(copyOf(body))).status).toBe(200);
      expect((await a(copyOf(body))).status).toBe(200);
      expect(redelivered).toEqual([false, true]);
    }, 30_000);
  });
}
