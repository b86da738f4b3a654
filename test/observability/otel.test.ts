import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Attributes,
  type Context,
  type ContextManager,
  context,
  metrics,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { type DataPoint, DataPointType, type Histogram, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { enableOpenTelemetry } from '../../src/otel/index.js';
import { inboundText } from '../../src/testing/builders.js';
import { signWebhook } from '../../src/testing/sign.js';
import { APP_ID, PAGE, playConversation, SECRET, startWorld, USER, type World } from './conversation.js';

/** A reader that exports nowhere: `collect()` gives the exact data points. */
class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

function setUpOtel() {
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const points = async (name: string) => {
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
    return (metric?.dataPoints ?? []) as DataPoint<number | Histogram>[];
  };
  /** Counter data points as `[attributes, value]`, in a stable order. */
  const counts = async (name: string) =>
    (await points(name))
      .map((p) => [p.attributes, p.value] as [Attributes, number])
      .sort((a, b) => JSON.stringify(a[0]).localeCompare(JSON.stringify(b[0])));
  return { reader, meterProvider, exporter, tracerProvider, points, counts };
}

let world: World | undefined;
let disable: (() => void) | undefined;
afterEach(async () => {
  disable?.();
  disable = undefined;
  await world?.close();
  world = undefined;
});

const byAttributes = (rows: [Attributes, number][]) => rows.map(([a, v]) => ({ ...a, value: v }));

/** After the scripted conversation's 1340 closed it, the user writes again: sends are allowed. */
async function writeAgain(w: World): Promise<void> {
  w.sandbox.advance(60_000);
  await w.messenger.recordInbound({ from: USER, to: PAGE, timestamp: w.sandbox.now(), messageUuid: 'written-again' });
}

describe('enableOpenTelemetry over a scripted conversation', () => {
  it('counts sends by outcome, reason, message type and category', async () => {
    const otel = setUpOtel();
    disable = enableOpenTelemetry({ meterProvider: otel.meterProvider, tracerProvider: otel.tracerProvider });
    world = await startWorld();
    await playConversation(world);

    const text = { 'messenger.message_type': 'text' };
    expect(byAttributes(await otel.counts('messenger.sends'))).toEqual(
      byAttributes([
        [
          {
            'messenger.outcome': 'failed',
            'messenger.reason': 'store_error',
            ...text,
            'messenger.category': 'response',
          },
          1,
        ],
        [
          {
            'messenger.outcome': 'refused',
            'messenger.reason': 'retired_tag',
            ...text,
            'messenger.category': 'message_tag',
          },
          1,
        ],
        [
          {
            'messenger.outcome': 'refused',
            'messenger.reason': 'window_closed',
            ...text,
            'messenger.category': 'response',
          },
          1,
        ],
        [{ 'messenger.outcome': 'sent', ...text, 'messenger.category': 'response' }, 2],
      ] as [Attributes, number][]),
    );
    const durations = await otel.points('messenger.send.duration');
    const total = durations.reduce((n, p) => n + (p.value as Histogram).count, 0);
    expect(total).toBe(5);
    for (const p of durations) expect((p.value as Histogram).sum).toBeGreaterThan(0);
  });

  it('counts webhooks by status and event kind, and platform errors by code and kind', async () => {
    const otel = setUpOtel();
    disable = enableOpenTelemetry({ meterProvider: otel.meterProvider, tracerProvider: otel.tracerProvider });
    world = await startWorld();
    await playConversation(world);

    expect(byAttributes(await otel.counts('messenger.webhooks'))).toEqual([
      { 'http.response.status_code': 200, 'messenger.event.kind': 'message', value: 1 },
      { 'http.response.status_code': 200, 'messenger.event.kind': 'status', value: 4 },
      { 'http.response.status_code': 401, value: 1 },
    ]);
    expect(byAttributes(await otel.counts('messenger.platform_errors'))).toEqual([
      { 'messenger.error.code': '1340', 'messenger.error.kind': 'window_closed', value: 1 },
    ]);
  });

  it('times store operations and marks the outage as failed ones', async () => {
    const otel = setUpOtel();
    disable = enableOpenTelemetry({ meterProvider: otel.meterProvider, tracerProvider: otel.tracerProvider });
    world = await startWorld();
    await playConversation(world);

    const points = await otel.points('messenger.store.duration');
    const failed = points
      .filter((p) => p.attributes['error.type'] !== undefined)
      .map((p) => [p.attributes['messenger.store.operation'], p.attributes['error.type'], (p.value as Histogram).count])
      .sort();
    expect(failed).toEqual([
      ['get', 'Error', 1],
      ['getPage', 'Error', 1],
    ]);
    const operations = points.map((p) => p.attributes['messenger.store.operation']);
    expect(operations).toEqual(expect.arrayContaining(['get', 'getPage', 'recordInbound', 'claim', 'markClosed']));
  });

  it('makes the reply sent from inside onMessage a child of the webhook span; no PSID, text or secret anywhere', async () => {
    const otel = setUpOtel();
    disable = enableOpenTelemetry({ meterProvider: otel.meterProvider, tracerProvider: otel.tracerProvider });
    world = await startWorld();
    await playConversation(world);

    const spans = otel.exporter.getFinishedSpans();
    const sends = spans.filter((s) => s.name === 'messenger.send');
    const webhooks = spans.filter((s) => s.name === 'messenger.webhook');
    expect(sends).toHaveLength(5);
    expect(webhooks).toHaveLength(6);
    const inbound = webhooks.find((s) => s.attributes['messenger.event.kind'] === 'message') as ReadableSpan;
    const reply = sends[0] as ReadableSpan;
    expect(reply.parentSpanContext?.spanId).toBe(inbound.spanContext().spanId);
    expect(reply.spanContext().traceId).toBe(inbound.spanContext().traceId);
    // Sends made outside any webhook are roots.
    for (const send of sends.slice(1)) expect(send.parentSpanContext).toBeUndefined();

    expect(reply.attributes).toMatchObject({
      'messenger.outcome': 'sent',
      'messenger.message_type': 'text',
      'messenger.category': 'response',
      'messenger.page.id': PAGE,
    });
    expect(sends.map((s) => s.status.code)).toEqual([0, 0, 0, 0, 2]);
    const forged = webhooks.find((s) => s.attributes['http.response.status_code'] === 401);
    expect(forged?.attributes['messenger.webhook.verification_failure']).toBe('bad_signature');

    const everything = JSON.stringify(spans.map((s) => [s.name, s.attributes, s.events, s.status, s.links]));
    expect(everything).not.toContain(USER);
    expect(everything).not.toContain('Still there?');
    expect(everything).not.toContain('observability-secret');
    const { resourceMetrics } = await otel.reader.collect();
    const allMetrics = JSON.stringify(resourceMetrics.scopeMetrics);
    expect(allMetrics).not.toContain(USER);
    expect(allMetrics).not.toContain(PAGE);
  });

  it('leaves Page IDs out of spans with pageIds: false', async () => {
    const otel = setUpOtel();
    disable = enableOpenTelemetry({
      meterProvider: otel.meterProvider,
      tracerProvider: otel.tracerProvider,
      pageIds: false,
    });
    world = await startWorld();
    await playConversation(world);
    const everything = JSON.stringify(otel.exporter.getFinishedSpans().map((s) => s.attributes));
    expect(everything).not.toContain(PAGE);
    expect(everything).toContain('messenger.outcome');
  });

  it('with linkReplies: false, still traces both but the reply is a root span', async () => {
    const otel = setUpOtel();
    disable = enableOpenTelemetry({
      meterProvider: otel.meterProvider,
      tracerProvider: otel.tracerProvider,
      linkReplies: false,
    });
    world = await startWorld();
    await playConversation(world);
    const spans = otel.exporter.getFinishedSpans();
    expect(spans.filter((s) => s.name === 'messenger.webhook')).toHaveLength(6);
    const sends = spans.filter((s) => s.name === 'messenger.send');
    expect(sends).toHaveLength(5);
    for (const send of sends) expect(send.parentSpanContext).toBeUndefined();
  });

  it('stops recording once unsubscribed', async () => {
    const otel = setUpOtel();
    const off = enableOpenTelemetry({ meterProvider: otel.meterProvider, tracerProvider: otel.tracerProvider });
    off();
    off();
    world = await startWorld();
    await playConversation(world);
    expect(await otel.points('messenger.sends')).toEqual([]);
    expect(otel.exporter.getFinishedSpans()).toEqual([]);
  });

  it('exports the counters as monotonic sums, which keep their totals when the bridge is turned off and on', async () => {
    const otel = setUpOtel();
    const first = enableOpenTelemetry({ meterProvider: otel.meterProvider, tracerProvider: otel.tracerProvider });
    world = await startWorld();
    await world.messenger.sendText({ from: PAGE, to: USER, text: 'one' }).catch(() => {});
    first();
    await world.messenger.sendText({ from: PAGE, to: USER, text: 'not counted' }).catch(() => {});
    disable = enableOpenTelemetry({ meterProvider: otel.meterProvider, tracerProvider: otel.tracerProvider });
    await world.messenger.sendText({ from: PAGE, to: USER, text: 'two' }).catch(() => {});

    const { resourceMetrics } = await otel.reader.collect();
    const metric = resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .find((m) => m.descriptor.name === 'messenger.sends');
    expect(metric?.dataPointType).toBe(DataPointType.SUM);
    expect(metric?.dataPointType === DataPointType.SUM && metric.isMonotonic).toBe(true);
    expect((metric?.dataPoints ?? []).reduce((n, p) => n + (p.value as number), 0)).toBe(2);
  });

  it('counts without spans while no tracer provider is registered, and traces once one is', async () => {
    const otel = setUpOtel();
    disable = enableOpenTelemetry({ meterProvider: otel.meterProvider }); // the global, still empty
    try {
      world = await startWorld();
      await playConversation(world);
      expect(await otel.counts('messenger.platform_errors')).toHaveLength(1);
      const sent = (await otel.counts('messenger.sends')).reduce((n, [, value]) => n + value, 0);
      expect(sent).toBe(5);
      expect(otel.exporter.getFinishedSpans()).toEqual([]);

      trace.setGlobalTracerProvider(otel.tracerProvider);
      await writeAgain(world);
      await world.messenger.sendText({ from: PAGE, to: USER, text: 'Now traced' });
      expect(otel.exporter.getFinishedSpans().map((s) => s.name)).toEqual(['messenger.send']);
    } finally {
      trace.disable();
    }
  });

  it('counts without spans when given an empty ProxyTracerProvider (metrics only, docs/observability.md)', async () => {
    const otel = setUpOtel();
    disable = enableOpenTelemetry({ meterProvider: otel.meterProvider, tracerProvider: new ProxyTracerProvider() });
    world = await startWorld();
    await playConversation(world);
    // Registered globally, the SDK provider would record; the passed proxy still delegates to nothing.
    trace.setGlobalTracerProvider(otel.tracerProvider);
    try {
      await writeAgain(world);
      await world.messenger.sendText({ from: PAGE, to: USER, text: 'Still untraced' });
      expect((await otel.counts('messenger.sends')).reduce((n, [, value]) => n + value, 0)).toBe(6);
      expect(await otel.counts('messenger.webhooks')).not.toEqual([]);
      expect(otel.exporter.getFinishedSpans()).toEqual([]);
    } finally {
      trace.disable();
    }
  });

  it('uses the global providers when none is passed', async () => {
    const otel = setUpOtel();
    metrics.setGlobalMeterProvider(otel.meterProvider);
    trace.setGlobalTracerProvider(otel.tracerProvider);
    try {
      disable = enableOpenTelemetry();
      world = await startWorld();
      await playConversation(world);
      expect(await otel.counts('messenger.platform_errors')).toHaveLength(1);
      expect(otel.exporter.getFinishedSpans().length).toBeGreaterThan(0);
    } finally {
      metrics.disable();
      trace.disable();
    }
  });
});

/** What `@opentelemetry/context-async-hooks` registers (as `sdk-node` does): context through async work. */
class StorageContextManager implements ContextManager {
  #storage = new AsyncLocalStorage<Context>();
  active = () => this.#storage.getStore() ?? ROOT_CONTEXT;
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable = () => this;
  disable = () => {
    this.#storage.disable();
    return this;
  };
}

describe('a reply inside a webhook, with a context manager and spans of the app', () => {
  beforeAll(() => context.setGlobalContextManager(new StorageContextManager()));
  afterAll(() => context.disable());

  /** One signed message through the handler inside `server` (an HTTP server span), replying from `onMessage`. */
  async function replyInside(reply: (w: World, tracer: Tracer) => Promise<unknown>) {
    const otel = setUpOtel();
    const tracer = otel.tracerProvider.getTracer('app');
    disable = enableOpenTelemetry({ meterProvider: otel.meterProvider, tracerProvider: otel.tracerProvider });
    const w = await startWorld();
    world = w;
    const handler = w.messenger.webhookHandler({ onMessage: () => reply(w, tracer) });
    const signed = signWebhook(inboundText({ psid: USER, pageId: PAGE, timestamp: w.sandbox.now() }), SECRET, {
      issuedAt: w.sandbox.now(),
      applicationId: APP_ID,
    });
    const server = tracer.startSpan('POST /webhooks/inbound');
    const request = new Request('http://bot.test/webhooks/inbound', { method: 'POST', ...signed });
    const response = await context.with(trace.setSpan(context.active(), server), () => handler(request));
    server.end();
    expect(response.status).toBe(200);
    const spans = otel.exporter.getFinishedSpans();
    const named = (name: string) => spans.find((s) => s.name === name) as ReadableSpan;
    return { server, webhook: named('messenger.webhook'), send: named('messenger.send') };
  }

  it('under the HTTP server span the request runs in, the reply is still a child of the webhook span', async () => {
    const { server, webhook, send } = await replyInside((w) =>
      w.messenger.sendText({ from: PAGE, to: USER, text: 'On its way' }),
    );
    expect(webhook.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(send.parentSpanContext?.spanId).toBe(webhook.spanContext().spanId);
    expect(send.links).toEqual([]);
  });

  it('under a span the app started around the reply, that span is the parent and the webhook a link', async () => {
    let own: Span | undefined;
    const { webhook, send } = await replyInside((w, tracer) =>
      tracer.startActiveSpan('lookup order', async (span) => {
        own = span;
        await w.messenger.sendText({ from: PAGE, to: USER, text: 'On its way' });
        span.end();
      }),
    );
    expect(send.parentSpanContext?.spanId).toBe(own?.spanContext().spanId);
    expect(send.links.map((l) => l.context.spanId)).toEqual([webhook.spanContext().spanId]);
  });
});
