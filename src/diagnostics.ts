/**
 * Diagnostics channels (`node:diagnostics_channel`): what the SDK does, published for any
 * subscriber (the `vonage-messenger/otel` bridge, a logger, a test) and free when nobody
 * listens. The only module that imports `node:diagnostics_channel` (Node, Bun, Deno, and
 * Workers with `nodejs_compat` provide it).
 *
 * Four channels, their names and payloads public API (docs/observability.md):
 * - `vonage-messenger:send`, a `TracingChannel` around each send (payload {@link SendTrace});
 * - `vonage-messenger:webhook`, a `TracingChannel` around each webhook (payload {@link WebhookTrace});
 * - `vonage-messenger:store`, one message after each store operation ({@link StoreOperationEvent});
 * - `vonage-messenger:platform-error`, one message per platform refusal ({@link PlatformErrorEvent}).
 *
 * With no subscriber each traced call costs a few boolean reads (`hasSubscribers`), nothing
 * is allocated and no payload is built.
 *
 * @module
 */
import * as dc from './diagnostics-channel.js';
import {
  ClientRateLimitError,
  isMessengerError,
  PageNotLinkedError,
  RateLimitError,
  StoreError,
  ValidationError,
  VonageApiError,
  WebhookVerificationError,
  WindowClosedError,
} from './errors.js';
import type { PageId, Psid } from './ids.js';
import { intentCategory, type MessagingCategory, type SendDecision } from './policy.js';
import type { MessengerMessageType } from './send/transport.js';
import type { SessionStore } from './store/types.js';
import type { SendWindow, WebhookVerificationReason } from './vocabulary.js';
import type { MessengerEvent } from './webhooks/events.js';
import type { PlatformErrorEvent } from './webhooks/platform.js';

/**
 * The channel names. `send` and `webhook` are `TracingChannel` names (their events are
 * `tracing:<name>:start|end|asyncStart|asyncEnd|error`); `store` and `platformError` are
 * plain channels.
 */
export const MESSENGER_CHANNELS = {
  /** Tracing channel around each send; payload {@link SendTrace}. */
  send: 'vonage-messenger:send',
  /** Tracing channel around each webhook request or `receive` call; payload {@link WebhookTrace}. */
  webhook: 'vonage-messenger:webhook',
  /** One message after each store operation; payload {@link StoreOperationEvent}. */
  store: 'vonage-messenger:store',
  /** One message per platform refusal in a status webhook; payload `PlatformErrorEvent`. */
  platformError: 'vonage-messenger:platform-error',
} as const;

/**
 * How a send ended: `sent` (Vonage accepted it), `refused` (a rule refused it before the
 * network) or `failed` (Vonage refused it, the network failed, or the store was down).
 */
export type SendOutcome = 'sent' | 'refused' | 'failed';

/**
 * The payload of the `vonage-messenger:send` tracing channel: one object per send, the same
 * object on every event. The fields marked "set at the end" are filled in before `asyncEnd`
 * (and before `error`).
 */
export interface SendTrace {
  /** `text`, `image`, `audio`, `video` or `file`. */
  readonly messageType: MessengerMessageType;
  /** The Page sending. */
  readonly pageId: PageId;
  /** The user it is for. Personal data: the OpenTelemetry bridge never exports it. */
  readonly psid: Psid;
  /** The category asked for (`response` when neither category nor tag was given). */
  readonly category: MessagingCategory;
  /** The tag asked for, if any. */
  readonly tag: string | undefined;
  /** Set at the end: how it ended. */
  outcome?: SendOutcome;
  /**
   * Set at the end, when not sent: the rule that refused it (`window_closed`, `retired_tag`,
   * … as in `WindowClosedError.reason`, or `page_not_linked`, `page_not_declared`,
   * `rate_limited`), or why it failed (the Vonage error code such as `1150`, `http_<status>`
   * when Vonage gave none, `rate_limited` for a 429, `network_error`, `store_error`).
   */
  reason?: string;
  /** Set once the rules judged the send: the decision (allowed, also when a later step failed; or why not). */
  decision?: SendDecision;
  /** Set at the end, when sent: Vonage's id of the message. */
  messageUuid?: string;
  /** Set by the channel when the send resolved: what it resolved to. */
  result?: unknown;
  /** Set by the channel when the send rejected: the error. */
  error?: unknown;
}

/**
 * The payload of the `vonage-messenger:webhook` tracing channel, one object per request. The
 * fields marked "set at the end" are filled in before `asyncEnd`.
 */
export interface WebhookTrace {
  /** `handler`: a request to `webhookHandler`; `receive`: a call of `messenger.receive`. */
  readonly via: 'handler' | 'receive';
  /**
   * Set at the end: the HTTP status answered (`handler`), or the one `webhookHandler` would
   * have answered (`receive`: 200 when it resolved).
   */
  status?: number;
  /** Set at the end, once parsed: `message`, `status` or `dispatch`. */
  eventKind?: MessengerEvent['kind'];
  /** Set at the end, once parsed: the message type (`text`, `image`, …) or the status (`delivered`, …). */
  eventType?: string | undefined;
  /** Set at the end, once parsed: the Page (none for a Dispatch report). */
  pageId?: PageId;
  /** Set at the end, once recorded: the event had been received before. */
  duplicate?: boolean;
  /** Set at the end (`handler` only): the callbacks ran for a retry of a failed delivery. */
  redelivered?: boolean;
  /** Set at the end, for a refused token: why (`bad_signature`, `replayed_token`, …). */
  verificationFailure?: WebhookVerificationReason;
  /** Set at the end, when the status reported a platform error: its code (`1340`, …). */
  platformErrorCode?: string;
  /** Set at the end, when not answered 200: the error behind the answer. */
  failure?: unknown;
}

/**
 * The names of `SessionStore` operations, as published on the store channel.
 */
export type StoreOperation = keyof SessionStore;

/**
 * The message published on `vonage-messenger:store` after each store operation of a messenger.
 */
export interface StoreOperationEvent {
  /** `get`, `recordInbound`, `claim`, … */
  readonly operation: StoreOperation;
  /** Milliseconds from the call to its settlement. */
  readonly durationMs: number;
  /** What the store threw or rejected with; `undefined` when it succeeded. */
  readonly error: unknown;
}

type Traced<T extends object> = dc.TracingChannel<unknown, T>;

/**
 * A tracing channel, or `undefined` on a runtime without `TracingChannel` (then nothing is
 * published, and nothing breaks).
 */
function tracing<T extends object>(name: string): Traced<T> | undefined {
  return typeof dc.tracingChannel === 'function' ? dc.tracingChannel<unknown, T>(name) : undefined;
}

const sendChannel = tracing<SendTrace>(MESSENGER_CHANNELS.send);
const webhookChannel = tracing<WebhookTrace>(MESSENGER_CHANNELS.webhook);
const storeChannel = dc.channel(MESSENGER_CHANNELS.store);
const platformErrorChannel = dc.channel(MESSENGER_CHANNELS.platformError);

/**
 * The channel objects, for the OpenTelemetry bridge (which then needs no import of
 * `node:diagnostics_channel` of its own). `send` and `webhook` are `undefined` on a runtime
 * without `TracingChannel`.
 *
 * @internal
 */
export const messengerChannels = {
  send: sendChannel,
  webhook: webhookChannel,
  store: storeChannel,
  platformError: platformErrorChannel,
} as const;

/** `TracingChannel.hasSubscribers` is Node ≥ 20.13; asking each channel works everywhere. */
function active(c: Traced<object> | undefined): c is Traced<object> {
  return (
    c !== undefined &&
    (c.start.hasSubscribers ||
      c.end.hasSubscribers ||
      c.asyncStart.hasSubscribers ||
      c.asyncEnd.hasSubscribers ||
      c.error.hasSubscribers)
  );
}

const VONAGE_CODE = /#(\d+)$/;

/** Outcome and reason of a send that threw; one table, shared by every subscriber. */
function describeSendFailure(trace: SendTrace, error: unknown): void {
  if (error instanceof WindowClosedError) {
    trace.outcome = 'refused';
    trace.reason = error.reason;
    trace.decision = {
      allowed: false,
      reason: error.reason,
      message: error.message,
      alternatives: [...error.alternatives],
      ...(error.expiredAt !== undefined ? { expiredAt: error.expiredAt } : {}),
    };
  } else if (error instanceof PageNotLinkedError) {
    trace.outcome = 'refused';
    trace.reason = 'page_not_linked';
  } else if (error instanceof ClientRateLimitError) {
    trace.outcome = 'refused';
    trace.reason = 'rate_limited';
  } else if (error instanceof RateLimitError) {
    trace.outcome = 'failed';
    trace.reason = 'rate_limited';
  } else if (error instanceof VonageApiError) {
    trace.outcome = 'failed';
    trace.reason = VONAGE_CODE.exec(error.type ?? '')?.[1] ?? `http_${error.status}`;
  } else if (error instanceof ValidationError) {
    trace.outcome = 'refused';
    trace.reason = 'page_not_declared';
  } else if (error instanceof StoreError) {
    trace.outcome = 'failed';
    trace.reason = 'store_error';
  } else {
    trace.outcome = 'failed';
    trace.reason = isMessengerError(error) ? error.code.toLowerCase() : 'error';
  }
}

interface SentResult {
  messageUuid: string;
  category: MessagingCategory;
  window: SendWindow;
  tag?: string;
  windowExpiresAt: Date;
}

/**
 * Runs one send inside the send channel (a no-op wrapper when nobody listens). The events
 * are those of `tracePromise` (start inside `start.runStores`, end, then error, asyncStart,
 * asyncEnd, with `result` or `error` set on the payload), published directly: the outcome
 * is noted in the same reaction that publishes, so a send costs one promise reaction and
 * two closures more than untraced, where `tracePromise` over a noting `then` cost two and
 * four (docs/performance-log.md, "Observability (issue 15)").
 *
 * @internal
 */
export function traceSend<R extends SentResult>(
  messageType: MessengerMessageType,
  params: { from: PageId; to: Psid; category?: MessagingCategory | undefined; tag?: string | undefined },
  run: (trace: SendTrace | undefined) => Promise<R>,
): Promise<R> {
  const channel = sendChannel;
  if (!active(channel)) return run(undefined);
  const trace: SendTrace = {
    messageType,
    pageId: params.from,
    psid: params.to,
    category: intentCategory(params),
    tag: params.tag,
  };
  return channel.start.runStores(trace, () => {
    try {
      return run(trace).then(
        (result) => {
          trace.outcome = 'sent';
          trace.messageUuid = result.messageUuid;
          trace.decision = {
            allowed: true,
            category: result.category,
            window: result.window,
            expiresAt: result.windowExpiresAt,
            ...(result.tag !== undefined ? { tag: result.tag } : {}),
          };
          trace.result = result;
          channel.asyncStart.publish(trace);
          channel.asyncEnd.publish(trace);
          return result;
        },
        (error: unknown) => {
          publishSendFailure(channel, trace, error);
          channel.asyncStart.publish(trace);
          channel.asyncEnd.publish(trace);
          throw error;
        },
      );
    } catch (error) {
      publishSendFailure(channel, trace, error);
      throw error;
    } finally {
      channel.end.publish(trace);
    }
  });
}

/** A send that threw or rejected: its outcome and reason, then the channel's `error` event. */
function publishSendFailure(channel: Traced<SendTrace>, trace: SendTrace, error: unknown): void {
  describeSendFailure(trace, error);
  trace.error = error;
  channel.error.publish(trace);
}

/** What `receive` resolves to, as far as the webhook channel reads it. */
interface Received {
  event: MessengerEvent;
  duplicate: boolean;
  platformError?: { code: string | undefined } | undefined;
}

/**
 * Notes a verified, parsed webhook on its trace, before the store records it.
 *
 * @internal
 */
export function noteParsed(trace: WebhookTrace, event: MessengerEvent): void {
  trace.eventKind = event.kind;
  trace.eventType = event.kind === 'message' ? event.type : event.status;
  if (event.kind !== 'dispatch') trace.pageId = event.pageId;
}

/**
 * Notes a parsed, recorded webhook on its trace (`webhookHandler`, after `process`).
 *
 * @internal
 */
export function noteReceived(trace: WebhookTrace, received: Received): void {
  noteParsed(trace, received.event);
  trace.duplicate = received.duplicate;
  if (received.platformError?.code !== undefined) trace.platformErrorCode = received.platformError.code;
}

/**
 * Notes why a webhook was not answered 200 on its trace.
 *
 * @internal
 */
export function noteRefused(trace: WebhookTrace, error: unknown, status: number): void {
  trace.status = status;
  trace.failure = error;
  if (error instanceof WebhookVerificationError) trace.verificationFailure = error.reason;
}

/**
 * Wraps the Fetch handler of `webhookHandler` in the webhook channel. The inner handler gets
 * the trace to note on (`undefined` when nobody listens).
 *
 * @internal
 */
export function traceWebhookHandler<C>(
  handle: (request: Request, trace: WebhookTrace | undefined, context?: C) => Promise<Response>,
): (request: Request, context?: C) => Promise<Response> {
  return (request, context) => {
    if (!active(webhookChannel)) return handle(request, undefined, context);
    const trace: WebhookTrace = { via: 'handler' };
    return webhookChannel.tracePromise(
      () =>
        handle(request, trace, context).then((response) => {
          trace.status = response.status;
          return response;
        }),
      trace,
    );
  };
}

/**
 * Wraps `receive` in the webhook channel; `statusFor` is the status `webhookHandler` answers
 * an error with. The events are those of `tracePromise` (start, end, then error, asyncStart,
 * asyncEnd, with `result` or `error` set on the payload), published directly: no callback
 * runs inside `receive`, so a store bound to `start` (the OpenTelemetry bridge's
 * `AsyncLocalStorage`) would carry nothing, and entering it would switch on Node 20's promise
 * hooks for the whole process. One promise per call instead of `tracePromise`'s two.
 *
 * @internal
 */
export function traceReceive<I, R extends Received>(
  receive: (input: I, onParsed?: (event: MessengerEvent) => void) => Promise<R>,
  statusFor: (error: unknown) => number,
): (input: I) => Promise<R> {
  return (input) => {
    const channel = webhookChannel;
    if (!active(channel)) return receive(input);
    const trace: WebhookTrace & { result?: unknown; error?: unknown } = { via: 'receive' };
    channel.start.publish(trace);
    let pending: Promise<R>;
    try {
      pending = receive(input, (event) => noteParsed(trace, event));
    } catch (error) {
      trace.error = error;
      channel.error.publish(trace);
      throw error;
    } finally {
      channel.end.publish(trace);
    }
    return pending.then(
      (received) => {
        noteReceived(trace, received);
        trace.status = 200;
        trace.result = received;
        channel.asyncStart.publish(trace);
        channel.asyncEnd.publish(trace);
        return received;
      },
      (error: unknown) => {
        noteRefused(trace, error, statusFor(error));
        trace.error = error;
        channel.error.publish(trace);
        channel.asyncStart.publish(trace);
        channel.asyncEnd.publish(trace);
        throw error;
      },
    );
  };
}

/**
 * Publishes a platform refusal (a `rejected`/`undeliverable` status with an error code).
 *
 * @internal
 */
export function publishPlatformError(event: PlatformErrorEvent): void {
  if (platformErrorChannel.hasSubscribers) platformErrorChannel.publish(event);
}

/** @internal True when someone listens on the store channel. */
export function storeObserved(): boolean {
  return storeChannel.hasSubscribers;
}

/** Publishes one store operation's event (a function of its own, so no closure per call). */
function publishStoreOperation(operation: StoreOperation, started: number, error: unknown): void {
  const event: StoreOperationEvent = { operation, durationMs: performance.now() - started, error };
  storeChannel.publish(event);
}

/**
 * Runs one store operation and publishes its duration and failure.
 *
 * @internal
 */
export function timeStoreOperation<T>(operation: StoreOperation, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  let pending: Promise<T>;
  try {
    // A store method returns a promise; Promise.resolve only for one that does not.
    const value = run();
    pending = value instanceof Promise ? value : Promise.resolve(value);
  } catch (error) {
    publishStoreOperation(operation, started, error);
    throw error;
  }
  return pending.then(
    (value) => {
      publishStoreOperation(operation, started, undefined);
      return value;
    },
    (error: unknown) => {
      publishStoreOperation(operation, started, error);
      throw error;
    },
  );
}
