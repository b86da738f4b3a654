/**
 * `receive`: the store step of the webhook line verify (pure) → parse (pure) → receive →
 * handler (HTTP). Everything that can refuse a request runs before anything is written: a
 * forged, stale, malformed, foreign-channel or undeclared-Page request changes no state. Then
 * every write of the webhook is one {@link ingestWith} call (one round trip on a store with
 * `ingest`): the token's one-time claim (a replay writes nothing else), then
 * - an inbound message: `recordInbound(page:psid, min(timestamp, now), message_uuid)` (a
 *   repeated uuid is a duplicate), and the Page marked linked unless known linked;
 * - a `rejected`/`undeliverable` status: what its code means (its row of `PLATFORM_ERRORS`:
 *   1340 closes the conversation, 1170/1300/1430 close it as `user_unavailable`, 1370 unlinks
 *   the Page, 1420 only a Page known linked), deduplicated on `message_uuid` + `status`; a
 *   1021 to a HUMAN_AGENT send then marks that tag unavailable for the Page (a second, rare
 *   call: `learnTagRefusal`, which needs the mark the send left);
 * - when the handler will call back: the delivery lease (see `delivery.ts`).
 *
 * @module
 */

import { utf8Length } from '../bytes.js';
import { publishPlatformError } from '../diagnostics.js';
import { ValidationError, WebhookVerificationError } from '../errors.js';
import { conversationKey } from '../ids.js';
import {
  actionOf,
  learnTagRefusal,
  platformErrorEvent,
  STATUS_DEDUPE_TTL_MS,
  safeNotifier,
  statusEffectOf,
} from '../platform-errors.js';
import { ingestWith } from '../store/ingest.js';
import type { DeliveryLease, IngestInput, SessionStore } from '../store/types.js';
import type { MessengerEvent } from './events.js';
import { parseWebhook } from './parse.js';
import type { PlatformErrorEvent } from './platform.js';
import {
  bearerToken,
  createWebhookVerifier,
  DEFAULT_TOLERANCE_SECONDS,
  jtiClaimId,
  jtiClaimTtlMs,
  REPLAYED,
  type WebhookClaims,
  type WebhookHeaders,
  type WebhookVerifier,
} from './verify.js';

/**
 * What the webhook layer needs from the messenger (or from you, when used alone).
 */
export interface WebhookLayerDeps {
  /** Where received messages open windows and replayed tokens are remembered. */
  store: SessionStore;
  /** The Dashboard's signature secret; several while rotating. Required to receive anything. */
  signatureSecret?: string | readonly string[] | undefined;
  /** Checked against the token's `api_key` claim when set. */
  apiKey?: string | undefined;
  /** Checked against the token's `application_id` claim when set. */
  applicationId?: string | undefined;
  /** `iat` tolerance in seconds, both directions. Default 300. */
  toleranceSeconds?: number | undefined;
  /** Largest accepted body. Default 1 MiB, enforced while the body streams in. */
  maxBodyBytes?: number | undefined;
  /** The clock, epoch ms. */
  now: () => number;
  /** Declared Page IDs; webhooks for any other Page are refused (403). `undefined`: any Page. */
  pages?: ReadonlySet<string> | undefined;
  /** How long a callback holds an event's delivery lease. Default 60 000 ms (see docs/webhooks.md). */
  deliveryLeaseMs?: number | undefined;
  /** Answer 503 when a callback has not settled after this long. Default: wait for it. */
  callbackTimeoutMs?: number | undefined;
  /**
   * Whether a 1021 answer to a HUMAN_AGENT send marks HUMAN_AGENT unavailable for the Page.
   * Default true.
   */
  learnTagRefusals?: boolean | undefined;
  /** Told once per refused or undeliverable message (not for duplicates). Exceptions are ignored. */
  onPlatformError?: ((event: PlatformErrorEvent) => void) | undefined;
}

/**
 * The input of `messenger.receive`: the request's headers and its raw, unparsed body.
 */
export interface ReceiveInput {
  /** The request headers; `Authorization: Bearer <jwt>` is the one verified. */
  headers: WebhookHeaders;
  /** The exact bytes received (a Buffer from `express.raw()`, `await request.text()`, …), never a re-serialized object. */
  body: string | Uint8Array;
}

/**
 * What `messenger.receive` resolves to.
 */
export interface ReceiveResult {
  /** The verified, parsed event. */
  event: MessengerEvent;
  /** True when this message (or this status of this message) was received before. */
  duplicate: boolean;
  /** The refusal a `rejected`/`undeliverable` status reported, with what the SDK did about it. */
  platformError?: PlatformErrorEvent | undefined;
  /** The verified token's claims (`api_key`, `application_id`, `jti`, `iat`). */
  claims: WebhookClaims;
}

/**
 * The id under which an event is deduplicated and delivered once: the conversation and
 * `message_uuid` for a message, `message_uuid` + `status` for a status; none for a Dispatch
 * report. It starts with `{pageId}`, so a Redis Cluster keeps it in the Page's hash slot.
 */
export function dedupeIdOf(event: MessengerEvent): string | undefined {
  if (event.kind === 'message') return `{${event.pageId}}:inbound:${event.psid}:${event.messageUuid}`;
  if (event.kind === 'status') return `{${event.pageId}}:status:${event.messageUuid}:${event.status}`;
  return undefined;
}

/**
 * Default body limit: 1 MiB. Messenger webhooks are a few hundred bytes.
 */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export { STATUS_DEDUPE_TTL_MS } from '../platform-errors.js';

/** Raised by receive() when the messenger was created without a signature secret. */
export function missingSecretError(): ValidationError {
  return new ValidationError(
    'signatureSecret is required to receive webhooks: pass createMessenger({ signatureSecret }) (Vonage Dashboard → Settings → signature secret). Unsigned webhooks are never trusted.',
    [{ path: 'signatureSecret', message: 'is required to receive webhooks' }],
  );
}

/** What {@link Receiver.process} returns to the handler: the result, and the lease when asked. */
export interface Received {
  result: ReceiveResult;
  /** The delivery lease, when `leaseMs` was given and the event has a dedupe id. */
  lease?: DeliveryLease | undefined;
  /** The event's dedupe id (the lease id). */
  dedupeId?: string | undefined;
}

/** Builds the receive pipeline for one set of dependencies. */
interface Verified {
  claims: WebhookClaims;
  event: MessengerEvent;
}

export function createReceiver(deps: WebhookLayerDeps) {
  const { store, now, pages } = deps;
  const tolerance = deps.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const jtiTtlMs = jtiClaimTtlMs(tolerance);
  const maxBodyBytes = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes <= 0) {
    throw new ValidationError('maxBodyBytes must be a positive integer', [
      { path: 'maxBodyBytes', message: 'must be a positive integer' },
    ]);
  }
  // Prepared once: the secrets become HMAC keys here, not per request. No store: verifying is pure.
  const verifier: WebhookVerifier | undefined =
    deps.signatureSecret === undefined
      ? undefined
      : createWebhookVerifier({
          signatureSecret: deps.signatureSecret,
          toleranceSeconds: tolerance,
          now,
          ...(deps.apiKey !== undefined ? { apiKey: deps.apiKey } : {}),
          ...(deps.applicationId !== undefined ? { applicationId: deps.applicationId } : {}),
        });
  const notify = safeNotifier<PlatformErrorEvent>(() =>
    deps.onPlatformError === undefined ? [] : [deps.onPlatformError],
  );

  const checkPage = (event: MessengerEvent): void => {
    if (pages === undefined || event.kind === 'dispatch' || pages.has(event.pageId)) return;
    throw new WebhookVerificationError(
      `Page ${event.pageId} is not one of the pages this messenger serves (createMessenger({ pages })); nothing was recorded.`,
      'unknown_page',
    );
  };

  const parsed = (claims: WebhookClaims, body: string | Uint8Array): Verified => {
    const event = parseWebhook(body);
    checkPage(event);
    return { claims, event };
  };

  /** The pure half: input shape, body size, token, body, Page. Writes nothing. */
  const verifyAndParse = (input: ReceiveInput, nowMs: number): Verified | Promise<Verified> => {
    if (verifier === undefined) throw missingSecretError();
    if (typeof input !== 'object' || input === null) {
      throw new ValidationError('receive() needs { headers, body }', [{ path: '', message: 'must be an object' }]);
    }
    const { body } = input;
    if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
      throw new ValidationError(
        'The webhook body must be the raw string or bytes received (a parsed object cannot be verified: its payload_hash covers the exact bytes)',
        [{ path: 'body', message: 'must be a string or Uint8Array' }],
      );
    }
    // Cheap bound first: a UTF-16 code unit is at most 3 UTF-8 bytes.
    const size = typeof body === 'string' ? (body.length * 3 <= maxBodyBytes ? 0 : utf8Length(body)) : body.byteLength;
    if (size > maxBodyBytes) {
      throw new ValidationError(`The webhook body is larger than maxBodyBytes (${maxBodyBytes})`, [
        { path: 'body', message: `is larger than ${maxBodyBytes} bytes` },
      ]);
    }
    const checked = verifier.check(bearerToken(input.headers ?? {}), body, nowMs);
    // A Promise only in the Workers build (Web Crypto): on Node the hot path stays synchronous.
    return checked instanceof Promise ? checked.then((claims) => parsed(claims, body)) : parsed(checked, body);
  };

  /**
   * Verifies, parses and records one webhook; with `leaseMs` (the handler, when a callback
   * will run), also takes the event's delivery lease in the same store call. Rejects with
   * `WebhookVerificationError`, `ValidationError` or `StoreError`; in every refusal nothing
   * was written.
   */
  async function process(
    input: ReceiveInput,
    leaseMs?: (event: MessengerEvent, failed: boolean) => number | undefined,
    onParsed?: (event: MessengerEvent) => void,
  ): Promise<Received> {
    const nowMs = now();
    const verified = verifyAndParse(input, nowMs);
    const { claims, event } = verified instanceof Promise ? await verified : verified;
    // Traced before the store call, so that a store failure still says what it failed to record.
    onParsed?.(event);
    const dedupeId = dedupeIdOf(event);
    const ingest: IngestInput = {
      now: nowMs,
      replay: {
        id: event.kind === 'dispatch' ? jtiClaimId(claims.jti) : `{${event.pageId}}${jtiClaimId(claims.jti)}`,
        ttlMs: jtiTtlMs,
      },
    };
    let effect: ReturnType<typeof statusEffectOf>;
    const failed =
      event.kind === 'status' &&
      (event.status === 'rejected' || event.status === 'undeliverable') &&
      event.error !== undefined;
    if (event.kind === 'message') {
      ingest.message = {
        key: conversationKey(event.pageId, event.psid),
        pageId: event.pageId,
        // The window start, never later than receipt.
        at: Math.min(event.timestamp.getTime(), nowMs),
        messageUuid: event.messageUuid,
      };
    } else if (event.kind === 'status') {
      effect = failed ? statusEffectOf(event.error?.code, event.error?.detail ?? event.error?.title ?? '') : undefined;
      ingest.status = {
        key: conversationKey(event.pageId, event.psid),
        pageId: event.pageId,
        at: Math.min(event.timestamp.getTime(), nowMs),
        effect,
        dedupe: { id: dedupeId as string, ttlMs: STATUS_DEDUPE_TTL_MS },
      };
    }
    const ttl = leaseMs?.(event, failed);
    if (ttl !== undefined && dedupeId !== undefined) ingest.lease = { id: dedupeId, ttlMs: ttl };

    const stored = await ingestWith(store, ingest);
    if (stored.replayed) throw new WebhookVerificationError(REPLAYED, 'replayed_token');
    const result: ReceiveResult = { event, duplicate: stored.duplicate, claims };
    if (failed && event.kind === 'status') {
      // Also on a duplicate: a retry after a failure here must still learn it (idempotent).
      const tagRefused =
        deps.learnTagRefusals !== false && (await learnTagRefusal(store, event, ingest.status?.at ?? nowMs));
      result.platformError = platformErrorEvent(
        event,
        tagRefused ? 'tag_unavailable' : actionOf(effect, stored.applied),
      );
      if (!stored.duplicate) {
        publishPlatformError(result.platformError);
        notify(result.platformError);
      }
    }
    return { result, lease: stored.lease, dedupeId };
  }

  return {
    process,
    maxBodyBytes,
    store,
    configured: verifier !== undefined,
    /** The token alone (signature, claims), pure: the handler's check before it decodes a compressed body. */
    checkToken: (headers: WebhookHeaders): void | Promise<void> => {
      if (verifier === undefined) throw missingSecretError();
      return verifier.checkToken(bearerToken(headers));
    },
    /** The public `messenger.receive` (one `then`, not an async function around `process`). */
    receive: (input: ReceiveInput, onParsed?: (event: MessengerEvent) => void): Promise<ReceiveResult> =>
      process(input, undefined, onParsed).then(resultOf),
  };
}

const resultOf = (received: Received): ReceiveResult => received.result;

/** The receive pipeline built by {@link createReceiver}. */
export type Receiver = ReturnType<typeof createReceiver>;
