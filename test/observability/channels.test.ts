import { AsyncLocalStorage } from 'node:async_hooks';
import { channel, tracingChannel } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  MESSENGER_CHANNELS,
  type SendTrace,
  type StoreOperationEvent,
  type WebhookTrace,
} from '../../src/diagnostics.js';
import { inboundText } from '../../src/testing/builders.js';
import { signWebhook } from '../../src/testing/sign.js';
import type { PlatformErrorEvent } from '../../src/webhooks/platform.js';
import { APP_ID, PAGE, playConversation, SECRET, startWorld, USER, type World } from './conversation.js';

type Recorded = { event: string; trace: SendTrace | WebhookTrace; snapshot: Record<string, unknown> };

/** Subscribes to every channel; each event keeps a copy of the payload as it was then. */
function record() {
  const events: Recorded[] = [];
  const stores: StoreOperationEvent[] = [];
  const platformErrors: PlatformErrorEvent[] = [];
  const tracer = (name: string) => {
    const on = (event: string) => (trace: SendTrace | WebhookTrace) =>
      events.push({ event: `${name}:${event}`, trace, snapshot: { ...trace } });
    return {
      start: on('start'),
      end: on('end'),
      asyncStart: on('asyncStart'),
      asyncEnd: on('asyncEnd'),
      error: on('error'),
    };
  };
  const send = tracer('send');
  const webhook = tracer('webhook');
  const onStore = (message: unknown) => stores.push(message as StoreOperationEvent);
  const onPlatformError = (message: unknown) => platformErrors.push(message as PlatformErrorEvent);
  tracingChannel<unknown, SendTrace>(MESSENGER_CHANNELS.send).subscribe(send);
  tracingChannel<unknown, WebhookTrace>(MESSENGER_CHANNELS.webhook).subscribe(webhook);
  channel(MESSENGER_CHANNELS.store).subscribe(onStore);
  channel(MESSENGER_CHANNELS.platformError).subscribe(onPlatformError);
  const stop = () => {
    tracingChannel<unknown, SendTrace>(MESSENGER_CHANNELS.send).unsubscribe(send);
    tracingChannel<unknown, WebhookTrace>(MESSENGER_CHANNELS.webhook).unsubscribe(webhook);
    channel(MESSENGER_CHANNELS.store).unsubscribe(onStore);
    channel(MESSENGER_CHANNELS.platformError).unsubscribe(onPlatformError);
  };
  const finished = (name: 'send' | 'webhook') =>
    events.filter((e) => e.event === `${name}:asyncEnd`).map((e) => e.snapshot);
  return { events, stores, platformErrors, stop, finished };
}

let world: World | undefined;
let stop: (() => void) | undefined;
afterEach(async () => {
  stop?.();
  await world?.close();
  world = undefined;
});

describe('diagnostics channels over a scripted conversation', () => {
  it('publishes each send once with its outcome, reason, decision, type and category', async () => {
    const rec = record();
    stop = rec.stop;
    world = await startWorld();
    await playConversation(world);

    const sends = rec.finished('send').map((s) => [s.outcome, s.reason, s.messageType, s.category, s.tag]);
    expect(sends).toEqual([
      ['sent', undefined, 'text', 'response', undefined],
      ['refused', 'window_closed', 'text', 'response', undefined],
      ['refused', 'retired_tag', 'text', 'message_tag', 'ACCOUNT_UPDATE'],
      ['sent', undefined, 'text', 'response', undefined],
      ['failed', 'store_error', 'text', 'response', undefined],
    ]);
    const [first, window] = rec.finished('send');
    expect(first).toMatchObject({ pageId: PAGE, psid: USER, decision: { allowed: true, category: 'response' } });
    expect(first?.messageUuid).toEqual(expect.any(String));
    expect(window?.decision).toMatchObject({ allowed: false, reason: 'window_closed' });
    // The error event comes before asyncEnd, with the outcome already set.
    const errors = rec.events.filter((e) => e.event === 'send:error').map((e) => e.snapshot.outcome);
    expect(errors).toEqual(['refused', 'refused', 'failed']);
    // Every send has one start, one end, one asyncStart and one asyncEnd.
    for (const event of ['start', 'end', 'asyncStart', 'asyncEnd']) {
      expect(rec.events.filter((e) => e.event === `send:${event}`)).toHaveLength(5);
    }
  });

  it('keeps the allowed decision on a send that the rules let through and Vonage then refused', async () => {
    const rec = record();
    stop = rec.stop;
    world = await startWorld();
    await world.sandbox.userSays({ page: PAGE, psid: USER, text: 'hi' });
    await world.sandbox.settled();
    rec.events.length = 0;
    world.sandbox.throttle(1); // the next request is answered 429
    await world.messenger.sendText({ from: PAGE, to: USER, text: 'On its way' }).catch(() => {});
    const [failed] = rec.finished('send');
    expect(failed).toMatchObject({
      outcome: 'failed',
      reason: 'rate_limited',
      decision: { allowed: true, category: 'response', window: 'standard' },
    });
  });

  it('names the event kind of a webhook the store failed to record (503), through the handler and receive', async () => {
    const rec = record();
    stop = rec.stop;
    const w = await startWorld();
    world = w;
    const signed = () =>
      signWebhook(inboundText({ psid: USER, pageId: PAGE, timestamp: w.sandbox.now() }), SECRET, {
        issuedAt: w.sandbox.now(),
        applicationId: APP_ID,
      });
    w.outage.down = true;
    const first = signed();
    const response = await fetch(`${w.bot.url}/webhooks/inbound`, { method: 'POST', ...first });
    const second = signed();
    await w.messenger.receive({ headers: second.headers, body: second.body }).catch(() => {});
    w.outage.down = false;
    expect(response.status).toBe(503);
    const answered = rec.finished('webhook').map((t) => [t.via, t.status, t.eventKind, t.eventType]);
    expect(answered).toEqual([
      ['handler', 503, 'message', 'text'],
      ['receive', 503, 'message', 'text'],
    ]);
  });

  it('publishes each webhook with the status answered, the event kind and the verification failure', async () => {
    const rec = record();
    stop = rec.stop;
    world = await startWorld();
    const { forged } = await playConversation(world);
    expect(forged).toBe(401);

    const webhooks = rec
      .finished('webhook')
      .map((w) => [w.via, w.status, w.eventKind, w.eventType, w.verificationFailure, w.platformErrorCode]);
    expect(webhooks).toEqual([
      ['handler', 200, 'message', 'text', undefined, undefined],
      ['handler', 200, 'status', 'submitted', undefined, undefined],
      ['handler', 200, 'status', 'delivered', undefined, undefined],
      ['handler', 200, 'status', 'read', undefined, undefined],
      ['handler', 200, 'status', 'rejected', undefined, '1340'],
      ['handler', 401, undefined, undefined, 'bad_signature', undefined],
    ]);
    expect(rec.finished('webhook')[0]).toMatchObject({ pageId: PAGE, duplicate: false, redelivered: false });
  });

  it('publishes the platform error and every store operation, with the outage as failures', async () => {
    const rec = record();
    stop = rec.stop;
    world = await startWorld();
    await playConversation(world);

    expect(rec.platformErrors.map((e) => [e.code, e.kind, e.action])).toEqual([
      ['1340', 'window_closed', 'conversation_closed'],
    ]);
    const failed = rec.stores.filter((s) => s.error !== undefined).map((s) => s.operation);
    expect(failed.sort()).toEqual(['get', 'getPage']);
    for (const s of rec.stores) expect(s.durationMs).toBeGreaterThanOrEqual(0);
    const operations = new Set(rec.stores.map((s) => s.operation));
    for (const op of ['get', 'getPage', 'recordInbound', 'recordOutbound', 'claim', 'markClosed']) {
      expect(operations).toContain(op);
    }
  });

  it('publishes the would-be status of messenger.receive, 200 or the refusal', async () => {
    const rec = record();
    stop = rec.stop;
    world = await startWorld();
    const { messenger, sandbox } = world;
    const { signWebhook } = await import('../../src/testing/sign.js');
    const { inboundText } = await import('../../src/testing/builders.js');
    const good = signWebhook(inboundText({ psid: USER, pageId: PAGE, timestamp: sandbox.now() }), SECRET, {
      issuedAt: sandbox.now(),
      applicationId: APP_ID,
    });
    await messenger.receive(good);
    await messenger.receive(good).catch(() => {});
    expect(rec.finished('webhook').map((w) => [w.via, w.status, w.eventKind, w.verificationFailure])).toEqual([
      ['receive', 200, 'message', undefined],
      // Verified and parsed before the store found the token used: the kind is known.
      ['receive', 401, 'message', 'replayed_token'],
    ]);
  });

  it('publishes receive as tracePromise would, but enters a store bound to start only for the handler', async () => {
    const rec = record();
    world = await startWorld();
    const { messenger, sandbox } = world;
    const als = new AsyncLocalStorage<string>();
    const start = tracingChannel<unknown, WebhookTrace>(MESSENGER_CHANNELS.webhook).start;
    start.bindStore(als, (trace) => trace.via);
    const during: (string | undefined)[] = [];
    const onStore = () => during.push(als.getStore());
    channel(MESSENGER_CHANNELS.store).subscribe(onStore);
    stop = () => {
      rec.stop();
      start.unbindStore(als);
      channel(MESSENGER_CHANNELS.store).unsubscribe(onStore);
      als.disable();
    };
    const { signWebhook } = await import('../../src/testing/sign.js');
    const { inboundText } = await import('../../src/testing/builders.js');
    const good = signWebhook(inboundText({ psid: USER, pageId: PAGE, timestamp: sandbox.now() }), SECRET, {
      issuedAt: sandbox.now(),
      applicationId: APP_ID,
    });
    const received = await messenger.receive(good);
    const replayed = await messenger.receive(good).catch((error: unknown) => error);
    expect(rec.events.map((e) => e.event)).toEqual([
      'webhook:start',
      'webhook:end',
      'webhook:asyncStart',
      'webhook:asyncEnd',
      'webhook:start',
      'webhook:end',
      'webhook:error',
      'webhook:asyncStart',
      'webhook:asyncEnd',
    ]);
    const [, , , done, , , failed] = rec.events;
    expect(done?.snapshot).toMatchObject({ via: 'receive', status: 200, result: received });
    expect(failed?.snapshot).toMatchObject({ via: 'receive', status: 401, error: replayed });
    // No callback runs inside receive: the bound store is not entered for it.
    expect(during.length).toBeGreaterThan(0);
    expect(during.every((value) => value === undefined)).toBe(true);

    during.length = 0;
    await sandbox.userSays({ page: PAGE, psid: USER, text: 'hi' });
    await sandbox.settled();
    expect(during).toContain('handler');
  });

  it('publishes nothing and traces nothing when nobody listens', async () => {
    world = await startWorld();
    const traced = Object.getPrototypeOf(tracingChannel(MESSENGER_CHANNELS.send)) as {
      tracePromise: (...args: unknown[]) => unknown;
    };
    const plain = Object.getPrototypeOf(channel('vonage-messenger:unrelated')) as {
      publish: (...args: unknown[]) => unknown;
    };
    const tracePromise = vi.spyOn(traced, 'tracePromise');
    const publish = vi.spyOn(plain, 'publish');
    try {
      await playConversation(world);
    } finally {
      tracePromise.mockRestore();
      publish.mockRestore();
    }
    expect(tracePromise).not.toHaveBeenCalled();
    expect(publish).not.toHaveBeenCalled();
  });
});
