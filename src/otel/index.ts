/**
 * `vonage-messenger/otel`: OpenTelemetry metrics and traces from the SDK's diagnostics
 * channels. `@opentelemetry/api` is an optional peer dependency, loaded only by this subpath.
 *
 * Instrument names and attributes are fixed, so that dashboards can be shared
 * (docs/observability.md). PSIDs, message text and secrets are never attributes; Page IDs
 * appear only on spans (`messenger.page.id`), and `pageIds: false` removes them.
 *
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Attributes,
  context,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
  ProxyTracerProvider,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { messengerChannels, type SendTrace, type StoreOperationEvent, type WebhookTrace } from '../diagnostics.js';
import type { PlatformErrorEvent } from '../webhooks/platform.js';

/**
 * Options of {@link enableOpenTelemetry}.
 */
export interface OpenTelemetryOptions {
  /** Where the instruments are created. Default: the global one (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider | undefined;
  /** Where the spans are created. Default: the global one (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider | undefined;
  /** Put the Page ID on send and webhook spans as `messenger.page.id`. Default `true`. */
  pageIds?: boolean | undefined;
  /**
   * Make a send from inside a webhook callback a child of the webhook's span (an
   * `AsyncLocalStorage` bound to the webhook channel). Default `true`. On Node 20 an active
   * `AsyncLocalStorage` slows every promise; if no other one (an OpenTelemetry context
   * manager) is active already, `false` saves that (docs/performance.md).
   */
  linkReplies?: boolean | undefined;
}

/**
 * The instrument names, fixed so that dashboards can be shared.
 */
export const OTEL_INSTRUMENTS = {
  /** Counter: `messenger.outcome`, `messenger.reason` (unless sent), `messenger.message_type`, `messenger.category`. */
  sends: 'messenger.sends',
  /** Histogram, seconds: `messenger.outcome`, `messenger.message_type`. */
  sendDuration: 'messenger.send.duration',
  /** Counter: `http.response.status_code`, `messenger.event.kind`. */
  webhooks: 'messenger.webhooks',
  /** Counter: `messenger.error.code`, `messenger.error.kind`. */
  platformErrors: 'messenger.platform_errors',
  /** Histogram, seconds: `messenger.store.operation`, `error.type` on failure. */
  storeDuration: 'messenger.store.duration',
} as const;

/** The span names. */
const SPANS = { send: 'messenger.send', webhook: 'messenger.webhook' } as const;
const SCOPE = 'vonage-messenger';

// Seconds. A send is a round trip to Vonage; a store call is a local or one-hop operation.
const SEND_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

interface Started {
  /** `undefined` when no tracer provider is registered: metrics only. */
  span: Span | undefined;
  at: number;
}

/** A webhook being handled, as its callbacks see it: its span and the span it was started in. */
interface InWebhook {
  span: Span;
  /** The span active when the webhook's began (an HTTP server span around the request), if any. */
  enclosingId: string | undefined;
}

/** What the global API delegates to while no tracer provider is registered. */
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();

/**
 * False while `provider` is the global API's proxy with nothing registered behind it: its
 * spans would be non-recording no-ops, so none is started (their ids, attributes and context
 * cost a few microseconds each). Asked per span, so a provider registered later is used.
 */
function tracingOn(provider: TracerProvider): () => boolean {
  if (!(provider instanceof ProxyTracerProvider)) return () => true;
  return () => provider.getDelegate() !== NOOP_TRACER_PROVIDER;
}

/**
 * A counter the bridge keeps itself and OpenTelemetry reads at collection time (an
 * asynchronous Counter, exported as the same monotonic sum as a synchronous one). A
 * synchronous `add` finds its data point by hashing the attributes (sorting the keys, then
 * `JSON.stringify`) on every call, some ten thousand instructions (docs/performance.md);
 * `count` looks up a key the caller builds from the few values that vary.
 */
interface Tally {
  /** Adds one to the data point of `attributes`; `key` names the same set, and only it. */
  count(key: string, attributes: Attributes): void;
}

function tally(meter: Meter, name: string, description: string): Tally {
  const points = new Map<string, { attributes: Attributes; value: number }>();
  meter.createObservableCounter(name, { description }).addCallback((result) => {
    for (const { attributes, value } of points.values()) result.observe(value, attributes);
  });
  return {
    count(key, attributes) {
      const point = points.get(key);
      if (point === undefined) points.set(key, { attributes, value: 1 });
      else point.value++;
    },
  };
}

interface Instruments {
  sends: Tally;
  sendDuration: Histogram;
  webhooks: Tally;
  platformErrors: Tally;
  storeDuration: Histogram;
}

/**
 * The instruments already created on each meter provider. The SDK answers a second
 * registration of the same name with the same storage, but only after comparing descriptors
 * (and warning through `diag` when they differ): turning the bridge off and on again, as a
 * test or a benchmark does, then costs a lookup instead.
 */
const instrumentsByProvider = new WeakMap<MeterProvider, Instruments>();

function instrumentsOf(provider: MeterProvider): Instruments {
  const known = instrumentsByProvider.get(provider);
  if (known !== undefined) return known;
  const meter = provider.getMeter(SCOPE);
  const counter = (name: string, description: string): Tally => tally(meter, name, description);
  // Durations in seconds, as OpenTelemetry's semantic conventions ask.
  const seconds = (name: string, description: string, buckets: number[]): Histogram =>
    meter.createHistogram(name, { description, unit: 's', advice: { explicitBucketBoundaries: buckets } });
  const created: Instruments = {
    sends: counter(OTEL_INSTRUMENTS.sends, 'Sends by outcome (sent, refused before the network, failed) and reason'),
    sendDuration: seconds(
      OTEL_INSTRUMENTS.sendDuration,
      'Duration of a send, from the call to its settlement',
      SEND_BUCKETS,
    ),
    webhooks: counter(OTEL_INSTRUMENTS.webhooks, 'Webhooks by the HTTP status answered and the event kind'),
    platformErrors: counter(
      OTEL_INSTRUMENTS.platformErrors,
      'Refusals the platform reported in status webhooks, by Vonage error code',
    ),
    storeDuration: seconds(OTEL_INSTRUMENTS.storeDuration, 'Duration of a session store operation', STORE_BUCKETS),
  };
  instrumentsByProvider.set(provider, created);
  return created;
}

/**
 * Subscribes OpenTelemetry to the SDK's diagnostics channels: counters and histograms for
 * sends, webhooks, platform errors and store calls, a span per send and per webhook (a reply
 * sent from inside a webhook callback is a child of the webhook's span). Returns the function
 * that unsubscribes. Uses the global providers when none is passed: register your SDK first.
 *
 * @example
 * ```ts
 * import { enableOpenTelemetry } from 'vonage-messenger/otel'
 *
 * const disable = enableOpenTelemetry() // the global MeterProvider and TracerProvider
 * // … later, on shutdown:
 * disable()
 * ```
 */
export function enableOpenTelemetry(options: OpenTelemetryOptions = {}): () => void {
  const tracerProvider = options.tracerProvider ?? trace.getTracerProvider();
  const tracer = tracerProvider.getTracer(SCOPE);
  const tracing = tracingOn(tracerProvider);
  const pageIds = options.pageIds ?? true;
  const linkReplies = options.linkReplies ?? true;

  const { sends, sendDuration, webhooks, platformErrors, storeDuration } = instrumentsOf(
    options.meterProvider ?? metrics.getMeterProvider(),
  );

  // The webhook span of the request being handled, through its callbacks' async work.
  const inWebhook = new AsyncLocalStorage<InWebhook>();
  const started = new WeakMap<object, Started>();

  const startSend = (send: SendTrace) => {
    if (!tracing()) {
      started.set(send, { span: undefined, at: performance.now() });
      return;
    }
    const attributes: Attributes = {
      'messenger.message_type': send.messageType,
      'messenger.category': send.category,
    };
    if (send.tag !== undefined) attributes['messenger.tag'] = send.tag;
    if (pageIds) attributes['messenger.page.id'] = send.pageId;
    const webhook = linkReplies ? inWebhook.getStore() : undefined;
    let span: Span;
    if (webhook === undefined) {
      span = tracer.startSpan(SPANS.send, { kind: SpanKind.INTERNAL, attributes });
    } else {
      const active = context.active();
      const activeId = trace.getSpan(active)?.spanContext().spanId;
      // A span the app started around the reply is the parent and the webhook a link. Else the
      // webhook is the parent, also under the span the whole request runs in (an HTTP server
      // span), which is the webhook span's own parent.
      span =
        activeId === undefined || activeId === webhook.enclosingId
          ? tracer.startSpan(SPANS.send, { kind: SpanKind.INTERNAL, attributes }, trace.setSpan(active, webhook.span))
          : tracer.startSpan(
              SPANS.send,
              { kind: SpanKind.INTERNAL, attributes, links: [{ context: webhook.span.spanContext() }] },
              active,
            );
    }
    started.set(send, { span, at: performance.now() });
  };

  const endSend = (send: SendTrace) => {
    const entry = started.get(send);
    if (entry === undefined) return;
    started.delete(send);
    const outcome = send.outcome ?? 'failed';
    const counted: Attributes = {
      'messenger.outcome': outcome,
      'messenger.message_type': send.messageType,
      'messenger.category': send.category,
    };
    if (send.reason !== undefined) counted['messenger.reason'] = send.reason;
    sends.count(`${outcome}\0${send.reason}\0${send.messageType}\0${send.category}`, counted);
    sendDuration.record((performance.now() - entry.at) / 1000, {
      'messenger.outcome': outcome,
      'messenger.message_type': send.messageType,
    });
    const { span } = entry;
    if (span === undefined) return;
    span.setAttribute('messenger.outcome', outcome);
    if (send.reason !== undefined) span.setAttribute('messenger.reason', send.reason);
    if (send.messageUuid !== undefined) span.setAttribute('messenger.message.uuid', send.messageUuid);
    if (outcome === 'failed') span.setStatus({ code: SpanStatusCode.ERROR, message: send.reason ?? 'failed' });
    span.end();
  };

  const startWebhook = (webhook: WebhookTrace): InWebhook | undefined => {
    if (!tracing()) {
      started.set(webhook, { span: undefined, at: performance.now() });
      return undefined;
    }
    const enclosingId = trace.getSpan(context.active())?.spanContext().spanId;
    const span = tracer.startSpan(SPANS.webhook, {
      kind: SpanKind.INTERNAL,
      attributes: { 'messenger.webhook.via': webhook.via },
    });
    started.set(webhook, { span, at: performance.now() });
    return { span, enclosingId };
  };

  // With linkReplies the store transform starts the span before `start` is published; a
  // `messenger.receive` call publishes `start` without entering stores (it runs no callback).
  const ensureWebhookStarted = (webhook: WebhookTrace) => {
    if (!started.has(webhook)) startWebhook(webhook);
  };

  const endWebhook = (webhook: WebhookTrace) => {
    const entry = started.get(webhook);
    if (entry === undefined) return;
    started.delete(webhook);
    const status = webhook.status ?? 500;
    const counted: Attributes = { 'http.response.status_code': status };
    if (webhook.eventKind !== undefined) counted['messenger.event.kind'] = webhook.eventKind;
    webhooks.count(`${status}\0${webhook.eventKind}`, counted);
    const { span } = entry;
    if (span === undefined) return;
    span.setAttributes(counted);
    if (webhook.eventType !== undefined) span.setAttribute('messenger.event.type', webhook.eventType);
    if (webhook.duplicate !== undefined) span.setAttribute('messenger.webhook.duplicate', webhook.duplicate);
    if (webhook.redelivered !== undefined) span.setAttribute('messenger.webhook.redelivered', webhook.redelivered);
    if (webhook.verificationFailure !== undefined) {
      span.setAttribute('messenger.webhook.verification_failure', webhook.verificationFailure);
    }
    if (webhook.platformErrorCode !== undefined) span.setAttribute('messenger.error.code', webhook.platformErrorCode);
    if (pageIds && webhook.pageId !== undefined) span.setAttribute('messenger.page.id', webhook.pageId);
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: `answered ${status}` });
    span.end();
  };

  const storeAttributes = new Map<string, Attributes>();
  const onStore = (message: unknown) => {
    const event = message as StoreOperationEvent;
    let attributes: Attributes | undefined;
    if (event.error === undefined) {
      attributes = storeAttributes.get(event.operation);
      if (attributes === undefined) {
        attributes = { 'messenger.store.operation': event.operation };
        storeAttributes.set(event.operation, attributes);
      }
    } else {
      const type = event.error instanceof Error ? event.error.name : typeof event.error;
      attributes = { 'messenger.store.operation': event.operation, 'error.type': type };
    }
    storeDuration.record(event.durationMs / 1000, attributes);
  };

  const onPlatformError = (message: unknown) => {
    const event = message as PlatformErrorEvent;
    const code = event.code ?? 'none';
    platformErrors.count(`${code}\0${event.kind}`, {
      'messenger.error.code': code,
      'messenger.error.kind': event.kind,
    });
  };

  // Only the events used are subscribed: a channel nobody listens to publishes for free.
  const { send, webhook, store, platformError } = messengerChannels;
  const onSendStart = startSend as (message: unknown) => void;
  const onSendEnd = endSend as (message: unknown) => void;
  const onWebhookStart = ensureWebhookStarted as (message: unknown) => void;
  const onWebhookEnd = endWebhook as (message: unknown) => void;
  send?.start.subscribe(onSendStart);
  send?.asyncEnd.subscribe(onSendEnd);
  // The transform starts the span as the request enters the handler; the store keeps it
  // reachable from the callbacks (a send made there becomes its child).
  if (linkReplies) webhook?.start.bindStore(inWebhook, startWebhook);
  webhook?.start.subscribe(onWebhookStart);
  webhook?.asyncEnd.subscribe(onWebhookEnd);
  store.subscribe(onStore);
  platformError.subscribe(onPlatformError);

  let enabled = true;
  return () => {
    if (!enabled) return;
    enabled = false;
    send?.start.unsubscribe(onSendStart);
    send?.asyncEnd.unsubscribe(onSendEnd);
    webhook?.start.unsubscribe(onWebhookStart);
    webhook?.asyncEnd.unsubscribe(onWebhookEnd);
    if (linkReplies) webhook?.start.unbindStore(inWebhook);
    inWebhook.disable();
    store.unsubscribe(onStore);
    platformError.unsubscribe(onPlatformError);
  };
}
