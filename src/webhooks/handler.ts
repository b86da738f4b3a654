/**
 * `messenger.webhookHandler(callbacks)`: a Fetch handler `(Request) => Promise<Response>` for
 * the inbound and status URLs (Hono, Next.js route handlers, Bun, Deno; node:http and Express
 * through `toNodeHandler`).
 *
 * Answers, chosen for how Vonage retries (it retries 429 and 5xx for 24 hours, never 4xx):
 * | status | when |
 * |---|---|
 * | 200 | processed, or a duplicate (the callback runs once per event) |
 * | 400 | signed, but the body is not JSON or not a Messenger event |
 * | 401 | a token is present but invalid, stale, replayed or forged |
 * | 403 | the Page is not one of `pages` |
 * | 405 | not a POST |
 * | 413 | the body is over `maxBodyBytes` (counted while streaming, after decoding) |
 * | 415 | a `Content-Encoding` other than `gzip`, `deflate` or `identity` |
 * | 500 | the messenger has no `signatureSecret` |
 * | 503 | no signature at all (Vonage may send one unsigned after an internal error and retries it signed), a store failure, a callback failure or timeout, or a copy of an event whose callback is running elsewhere (with `Retry-After`) |
 *
 * Which copy of an event reaches the callback is the delivery protocol (delivery.ts): one
 * callback in flight per event across the fleet, and none after one succeeded.
 *
 * @module
 */

import { concatBytes } from '../bytes.js';
import { noteParsed, noteReceived, noteRefused, traceWebhookHandler, type WebhookTrace } from '../diagnostics.js';
import { isMessengerError, StoreError, ValidationError, WebhookVerificationError } from '../errors.js';
import {
  CallbackTimeoutError,
  DEFAULT_DELIVERY_LEASE_MS,
  DeliveryInProgressError,
  type DeliveryOptions,
  deliver,
} from './delivery.js';
import type { DispatchEvent, InboundMessageEvent, MessengerEvent, StatusEvent } from './events.js';
import type { PlatformErrorEvent } from './platform.js';
import { missingSecretError, type ReceiveResult, type Receiver } from './receive.js';
import type { WebhookClaims } from './verify.js';

/**
 * What a callback learns besides the event.
 */
export interface WebhookContext {
  /** The incoming request (its body is already read). */
  request: Request;
  /** The verified token's claims. */
  claims: WebhookClaims;
  /** True when an earlier attempt to deliver this event failed (it threw, timed out, or its process died). */
  redelivered: boolean;
}

/**
 * What `webhookHandler` calls. Each may be async; the response waits for it.
 *
 * Each event reaches one callback at a time across every process on the store, and none
 * once a callback succeeded: a copy that arrives while a callback runs is answered 503 with
 * `Retry-After` (Vonage retries it later), a copy after a success is answered 200. After a
 * callback throws (answer 503) or its lease expires (the process died, or it ran past
 * `webhook.deliveryLeaseMs`), the next copy calls back with `redelivered: true`. Long work
 * belongs in a queue: acknowledge fast (docs/webhooks.md).
 */
export interface WebhookCallbacks {
  /** A message from a user; the window is already recorded, so you can reply right here. */
  onMessage?(event: InboundMessageEvent, context: WebhookContext): unknown;
  /** A status of a message the Page sent. */
  onStatus?(event: StatusEvent, context: WebhookContext): unknown;
  /** A refused or undeliverable message, with what the SDK recorded (called before `onStatus`). */
  onPlatformError?(event: PlatformErrorEvent, context: WebhookContext): unknown;
  /** A Dispatch (failover) completion report. */
  onDispatch?(event: DispatchEvent, context: WebhookContext): unknown;
  /**
   * Every request not answered 200, with the error and the status sent (for logs and metrics);
   * also a store failure to record a successful callback (status 200: a later copy may run it again).
   */
  onError?(error: unknown, request: Request, status: number): unknown;
}

/** The key under which a `webhookHandler` handler takes an error answered outside it (toNodeHandler). */
export const REPORT_ERROR = Symbol.for('vonage-messenger.webhook.reportError');

/** A Fetch handler that can be told of an error answered outside it. */
export type ReportingHandler = WebhookFetchHandler & {
  [REPORT_ERROR]?: (error: unknown, request: Request, status: number) => Promise<void>;
};

/**
 * What a runtime passes a Fetch handler after the request. Where it has a `waitUntil` (a
 * Worker's `ctx`, Vercel's and Netlify's contexts), a callback that outran `callbackTimeoutMs`
 * is kept alive through it after the 503, so that it finishes and settles its lease; without
 * one, Workers stop it with the answer. Anything else (Bun's server, Deno's info) is ignored.
 */
export type WebhookHandlerContext = { waitUntil(promise: Promise<unknown>): void } | object;

/**
 * The Fetch handler `webhookHandler` returns: `(request, ctx?)`, as a Worker's `fetch` gets it.
 */
export type WebhookFetchHandler = (request: Request, context?: WebhookHandlerContext) => Promise<Response>;

/** The context's `waitUntil`, called on the context, if it has one. */
function waitUntilOf(context: WebhookHandlerContext | undefined): ((promise: Promise<unknown>) => void) | undefined {
  if (context === undefined || typeof (context as { waitUntil?: unknown }).waitUntil !== 'function') return undefined;
  return (promise) => (context as { waitUntil(promise: Promise<unknown>): void }).waitUntil(promise);
}

/** The body was over the limit (answered 413). */
export class PayloadTooLargeError extends ValidationError {
  override readonly name = 'PayloadTooLargeError' as const;
  constructor(limit: number) {
    super(`The webhook body is larger than ${limit} bytes`, [{ path: 'body', message: `exceeds ${limit} bytes` }]);
  }
}

/** The request was not a POST (answered 405): a health check or a mistyped URL. */
export class MethodNotAllowedError extends ValidationError {
  override readonly name = 'MethodNotAllowedError' as const;
  constructor(method: string) {
    super(`The webhook URL answers POST only, not ${method}`, [{ path: 'method', message: 'must be POST' }]);
  }
}

/** The body came in an encoding the handler does not decode (answered 415). */
export class UnsupportedEncodingError extends ValidationError {
  override readonly name = 'UnsupportedEncodingError' as const;
  constructor(encoding: string) {
    super(`The webhook body's Content-Encoding "${encoding}" is not one of gzip, deflate, identity`, [
      { path: 'content-encoding', message: 'unsupported' },
    ]);
  }
}

/** The handler could not read the body (the client went away). Answered 400. */
class BodyReadError extends ValidationError {}

// A callback failure: answered 503 so that Vonage retries.
class CallbackError extends Error {
  constructor(readonly original: unknown) {
    super('A webhook callback failed', { cause: original });
  }
}

// What body parsers decode (Express's body-parser among them), so that every way of mounting
// the handler hashes the same bytes: the decoded ones.
const DECODERS: Readonly<Record<string, CompressionFormat>> = { gzip: 'gzip', 'x-gzip': 'gzip', deflate: 'deflate' };

/** A declared `Content-Length` over `limit` (any number of digits); a small one is not trusted. */
export function declaresOver(contentLength: string | null, limit: number): boolean {
  if (contentLength === null || !/^[0-9]+$/.test(contentLength)) return false;
  return contentLength.length > 15 || Number(contentLength) > limit;
}

/**
 * The body as the app's bytes: decoded when it came gzip- or deflate-encoded, after
 * `beforeDecoding` passed. A few hundred kilobytes can inflate to gigabytes, and the decoder
 * inflates ahead of the limit: only a body whose token is Vonage's is ever inflated.
 */
function decodedBody(request: Request, beforeDecoding: (() => void | Promise<void>) | undefined): Body | Promise<Body> {
  const encoding = request.headers.get('content-encoding')?.trim().toLowerCase() ?? '';
  // Not encoded, the common case: no promise on the way.
  if (encoding === '' || encoding === 'identity') return request.body;
  const format = DECODERS[encoding];
  if (format === undefined) throw new UnsupportedEncodingError(encoding);
  const inflate = (): Body =>
    request.body === null ? null : request.body.pipeThrough(new DecompressionStream(format));
  return Promise.resolve(beforeDecoding?.()).then(inflate);
}

type Body = ReadableStream<Uint8Array> | null;

/**
 * Reads the body as a stream, refusing it as soon as it passes `limit` bytes (decoded);
 * `beforeDecoding` runs before a compressed body is inflated, and may refuse it.
 */
export async function readBodyWithLimit(
  request: Request,
  limit: number,
  beforeDecoding?: () => void | Promise<void>,
): Promise<Uint8Array> {
  if (declaresOver(request.headers.get('content-length'), limit)) throw new PayloadTooLargeError(limit);
  const decoded = decodedBody(request, beforeDecoding);
  const body = decoded instanceof Promise ? await decoded : decoded;
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        reader.cancel().catch(() => {});
        throw new PayloadTooLargeError(limit);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof PayloadTooLargeError) throw error;
    const message = body === request.body ? 'unreadable' : 'unreadable or not validly encoded';
    throw new BodyReadError(`The webhook body could not be read (${message})`, [{ path: 'body', message }]);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  return concatBytes(chunks, total);
}

/** The HTTP status for a failure (see the table in this module's comment). */
export function statusForError(error: unknown): number {
  if (error instanceof PayloadTooLargeError) return 413;
  if (error instanceof UnsupportedEncodingError) return 415;
  if (error instanceof WebhookVerificationError) {
    if (error.reason === 'missing_token') return 503;
    if (error.reason === 'unknown_page') return 403;
    return 401;
  }
  if (error instanceof StoreError || error instanceof DeliveryInProgressError) return 503;
  if (error instanceof ValidationError) return 400;
  return 503;
}

const respond = (status: number, error?: string): Response =>
  new Response(JSON.stringify(error === undefined ? { status } : { status, error }), {
    status,
    headers: { 'content-type': 'application/json' },
  });

function publicError(error: unknown, status: number): string {
  if (status === 401) return 'webhook_verification_failed';
  if (status === 503 && error instanceof WebhookVerificationError) return 'unsigned_webhook';
  if (error instanceof DeliveryInProgressError) return 'delivery_in_progress';
  if (error instanceof CallbackError && error.original instanceof CallbackTimeoutError) return 'callback_timeout';
  if (status === 503) return 'temporarily_unavailable';
  if (status === 413) return 'payload_too_large';
  if (status === 415) return 'unsupported_content_encoding';
  if (status === 403) return 'unknown_page';
  if (status === 400 && isMessengerError(error)) return error.message;
  return 'error';
}

/** How the handler delivers: the lease length and the optional callback timeout. */
export interface HandlerOptions {
  /** How long a delivery lease lasts. Default {@link DEFAULT_DELIVERY_LEASE_MS}. */
  deliveryLeaseMs?: number | undefined;
  /** Answer 503 when a callback has not settled after this long. Default: wait. */
  callbackTimeoutMs?: number | undefined;
  /** The clock, epoch ms. */
  now: () => number;
}

/** Builds the Fetch handler over a receive pipeline. */
export function createWebhookHandler(
  receiver: Receiver,
  callbacks: WebhookCallbacks = {},
  options: HandlerOptions = { now: Date.now },
): WebhookFetchHandler {
  const { store, maxBodyBytes } = receiver;
  const leaseMs = options.deliveryLeaseMs ?? DEFAULT_DELIVERY_LEASE_MS;

  /** The lease length when this event has a callback to run, else undefined (no lease). */
  const leaseFor = (event: MessengerEvent, failed: boolean): number | undefined => {
    switch (event.kind) {
      case 'message':
        return callbacks.onMessage !== undefined ? leaseMs : undefined;
      case 'status':
        return callbacks.onStatus !== undefined || (failed && callbacks.onPlatformError !== undefined)
          ? leaseMs
          : undefined;
      case 'dispatch':
        return undefined;
    }
  };

  const run = async (p: ReceiveResult, context: WebhookContext): Promise<void> => {
    try {
      const { event } = p;
      if (event.kind === 'message') await callbacks.onMessage?.(event, context);
      else if (event.kind === 'status') {
        if (p.platformError !== undefined) await callbacks.onPlatformError?.(p.platformError, context);
        await callbacks.onStatus?.(event, context);
      } else await callbacks.onDispatch?.(event, context);
    } catch (error) {
      throw new CallbackError(error);
    }
  };

  const reportError = async (error: unknown, request: Request, status: number): Promise<void> => {
    if (callbacks.onError === undefined) return;
    try {
      await callbacks.onError(error instanceof CallbackError ? error.original : error, request, status);
    } catch {
      // A logging callback must not change the answer.
    }
  };

  const handler = async (
    request: Request,
    trace: WebhookTrace | undefined,
    context?: WebhookHandlerContext,
  ): Promise<Response> => {
    if (request.method !== 'POST') {
      await reportError(new MethodNotAllowedError(request.method), request, 405);
      const response = respond(405, 'method_not_allowed');
      response.headers.set('allow', 'POST');
      return response;
    }
    if (!receiver.configured) {
      // Ask Vonage to retry (5xx) while the deployment is fixed; never accept unverified.
      await reportError(missingSecretError(), request, 500);
      return respond(500, 'webhook_not_configured');
    }
    try {
      const body = await readBodyWithLimit(request, maxBodyBytes, () => receiver.checkToken(request.headers));
      const { result, lease, dedupeId } = await receiver.process(
        { headers: request.headers, body },
        leaseFor,
        trace === undefined ? undefined : (event) => noteParsed(trace, event),
      );
      if (trace !== undefined) noteReceived(trace, result);
      if (lease !== undefined && dedupeId !== undefined) {
        const delivery: DeliveryOptions = {
          store,
          now: options.now,
          callbackTimeoutMs: options.callbackTimeoutMs,
          onSettleError: (error) => reportError(error, request, 200),
          waitUntil: waitUntilOf(context),
        };
        await deliver(
          lease,
          dedupeId,
          (redelivered) => {
            if (trace !== undefined) trace.redelivered = redelivered;
            return run(result, { request, claims: result.claims, redelivered });
          },
          delivery,
        ).catch((error: unknown) => {
          throw error instanceof CallbackTimeoutError ? new CallbackError(error) : error;
        });
      } else if (result.event.kind === 'dispatch') {
        await run(result, { request, claims: result.claims, redelivered: false });
      }
      return respond(200);
    } catch (error) {
      const status = statusForError(error);
      if (trace !== undefined) noteRefused(trace, error, status);
      await reportError(error, request, status);
      const response = respond(status, publicError(error, status));
      if (error instanceof DeliveryInProgressError)
        response.headers.set('retry-after', String(error.retryAfterSeconds));
      return response;
    }
  };
  // toNodeHandler refuses a request whose body a parser consumed before the handler saw it; it
  // tells onError of it through this (any other Fetch handler has none).
  return Object.assign(traceWebhookHandler(handler), { [REPORT_ERROR]: reportError });
}
