/**
 * The webhook layer: verify Vonage's signed webhooks, parse Messenger events, record what
 * they teach the store, and serve them over Fetch or node:http.
 *
 * @module
 */
import { traceReceive } from '../diagnostics.js';
import { createWebhookHandler, statusForError, type WebhookCallbacks, type WebhookFetchHandler } from './handler.js';
import { createReceiver, type ReceiveInput, type ReceiveResult, type WebhookLayerDeps } from './receive.js';

export { DEFAULT_DELIVERY_LEASE_MS } from './delivery.js';
export type {
  DispatchEvent,
  InboundMessageEvent,
  MediaMessageEvent,
  MessageStatus,
  MessengerEvent,
  StatusError,
  StatusEvent,
  StatusUsage,
  TextMessageEvent,
  UnknownMessageEvent,
  UnsupportedMessageEvent,
  WebhookVersion,
} from './events.js';
export { isInboundMessage, isStatusEvent } from './events.js';
export type { WebhookCallbacks, WebhookContext, WebhookFetchHandler, WebhookHandlerContext } from './handler.js';
export { type NodeHandler, type NodeRequest, toNodeHandler } from './node.js';
export { parseVonageTimestamp, parseWebhook } from './parse.js';
export {
  PLATFORM_ERRORS,
  PLATFORM_ERRORS_SOURCE,
  type PlatformErrorAction,
  type PlatformErrorEffect,
  type PlatformErrorEvent,
  type PlatformErrorKind,
  type PlatformErrorRow,
  platformErrorKind,
} from './platform.js';
export {
  DEFAULT_MAX_BODY_BYTES,
  type ReceiveInput,
  type ReceiveResult,
  type WebhookLayerDeps,
} from './receive.js';
export {
  createWebhookVerifier,
  DEFAULT_TOLERANCE_SECONDS,
  verifyWebhookSignature,
  type WebhookClaims,
  type WebhookHeaders,
  type WebhookVerifier,
  type WebhookVerifierOptions,
} from './verify.js';

/**
 * The webhook layer of a messenger: `receive` and `webhookHandler`.
 */
export interface WebhookLayer {
  /** Verifies, parses and records one webhook; see `messenger.receive`. */
  receive(input: ReceiveInput): Promise<ReceiveResult>;
  /** A Fetch handler for the inbound and status URLs; see `messenger.webhookHandler`. */
  webhookHandler(callbacks?: WebhookCallbacks): WebhookFetchHandler;
}

/**
 * Builds the webhook layer over a store. `createMessenger` calls it; use it alone to receive
 * webhooks in a process that does not send.
 *
 * @example
 * ```ts
 * const webhooks = createWebhookLayer({ store: memoryStore(), signatureSecret: process.env.VONAGE_SIGNATURE_SECRET, now: Date.now })
 * const { event, duplicate } = await webhooks.receive({ headers: request.headers, body: rawBody })
 * ```
 */
export function createWebhookLayer(deps: WebhookLayerDeps): WebhookLayer {
  const receiver = createReceiver(deps);
  return {
    receive: traceReceive(receiver.receive, statusForError),
    webhookHandler: (callbacks) =>
      createWebhookHandler(receiver, callbacks, {
        now: deps.now,
        deliveryLeaseMs: deps.deliveryLeaseMs,
        callbackTimeoutMs: deps.callbackTimeoutMs,
      }),
  };
}
