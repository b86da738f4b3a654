/**
 * The effects of one webhook: verify → parse → Page registry → claim the token → record.
 *
 * Everything that can refuse a request runs before anything is written: a forged, stale,
 * malformed, foreign-channel or undeclared-Page request changes no state (the `jti` claim
 * is the first write, made only once every other check passed). Every store call goes
 * through `callStore`, so a backend failure is one `StoreError`.
 *
 * What the store learns:
 * - an inbound message: `recordInbound(page:psid, min(timestamp, now), message_uuid)` (the
 *   window start, never later than receipt; a repeated uuid is a duplicate), and the Page is
 *   marked linked if it was not (a message through the link proves the link works);
 * - a `rejected`/`undeliverable` status: what each code does is one row of `PLATFORM_ERRORS`
 *   (./platform.ts): 1340 closes the conversation (`closed_by_platform`), 1170/1300/1430 close
 *   it as `user_unavailable`, 1370 marks the Page unlinked, 1420 too when the Page was known
 *   linked, 1021 to a HUMAN_AGENT send marks that tag unavailable for the Page; every code is
 *   reported to `onPlatformError`. Status events are
 *   deduplicated on `message_uuid` + `status`. The state changes run before the dedupe claim
 *   and are idempotent, so a retry after a failure between them still applies them.
 *
 * @module
 */
import { StoreError, ValidationError, WebhookVerificationError } from '../errors.js';
import { conversationKey } from '../ids.js';
import { callStore, storeError } from '../store/guard.js';
import type { PageState, RecordInboundResult, SessionStore } from '../store/types.js';
import type { MessengerEvent, StatusEvent } from './events.js';
import { parseWebhook } from './parse.js';
import {
  type PlatformErrorAction,
  type PlatformErrorEvent,
  platformErrorKind,
  platformErrorMessage,
  platformErrorRow,
  taggedSendClaimId,
} from './platform.js';

const HUMAN_AGENT = 'HUMAN_AGENT';

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
 *
 * @example
 * ```ts
 * const deps: WebhookLayerDeps = { store: memoryStore(), signatureSecret: process.env.VONAGE_SIGNATURE_SECRET, now: Date.now }
 * ```
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
 *
 * @example
 * ```ts
 * const input: ReceiveInput = { headers: request.headers, body: await request.text() }
 * ```
 */
export interface ReceiveInput {
  /** The request headers; `Authorization: Bearer <jwt>` is the one verified. */
  headers: WebhookHeaders;
  /** The exact bytes received (a Buffer from `express.raw()`, `await request.text()`, …), never a re-serialized object. */
  body: string | Uint8Array;
}

/**
 * What `messenger.receive` resolves to.
 *
 * @example
 * ```ts
 * const { event, duplicate }: ReceiveResult = await messenger.receive({ headers, body })
 * ```
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
 * The id under which an event is deduplicated: the conversation and `message_uuid` for a
 * message, `message_uuid` + `status` for a status; none for a Dispatch report.
 */
export function dedupeIdOf(event: MessengerEvent): string | undefined {
  if (event.kind === 'message') return `inbound:${event.pageId}:${event.psid}:${event.messageUuid}`;
  if (event.kind === 'status') return `status:${event.messageUuid}:${event.status}`;
  return undefined;
}

/**
 * Default body limit: 1 MiB. Messenger webhooks are a few hundred bytes.
 *
 * @example
 * ```ts
 * createMessenger({ ..., webhook: { maxBodyBytes: DEFAULT_MAX_BODY_BYTES / 4 } })
 * ```
 */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** How long a status event is remembered for dedupe: Vonage retries for 24 h; twice that. */
export const STATUS_DEDUPE_TTL_MS = 48 * 60 * 60 * 1000;

const ignore = (): void => {};

/** Raised by receive() when the messenger was created without a signature secret. */
export function missingSecretError(): ValidationError {
  return new ValidationError(
    'signatureSecret is required to receive webhooks: pass createMessenger({ signatureSecret }) (Vonage Dashboard → Settings → signature secret). Unsigned webhooks are never trusted.',
    [{ path: 'signatureSecret', message: 'is required to receive webhooks' }],
  );
}

/** Builds the receive pipeline for one set of dependencies. */
export function createReceiver(deps: WebhookLayerDeps) {
  const { store, now, pages } = deps;
  const jtiTtlMs = jtiClaimTtlMs(deps.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS);
  const maxBodyBytes = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes <= 0) {
    throw new ValidationError('maxBodyBytes must be a positive integer', [
      { path: 'maxBodyBytes', message: 'must be a positive integer' },
    ]);
  }
  // Prepared once: the secrets become HMAC keys here, not per request.
  const verifier: WebhookVerifier | undefined =
    deps.signatureSecret === undefined
      ? undefined
      : createWebhookVerifier({
          signatureSecret: deps.signatureSecret,
          toleranceSeconds: deps.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS,
          store,
          now,
          ...(deps.apiKey !== undefined ? { apiKey: deps.apiKey } : {}),
          ...(deps.applicationId !== undefined ? { applicationId: deps.applicationId } : {}),
        });

  const checkPage = (event: MessengerEvent): void => {
    if (pages === undefined || event.kind === 'dispatch' || pages.has(event.pageId)) return;
    throw new WebhookVerificationError(
      `Page ${event.pageId} is not one of the pages this messenger serves (createMessenger({ pages })); nothing was recorded.`,
      'unknown_page',
    );
  };

  const notify = (event: PlatformErrorEvent): void => {
    if (deps.onPlatformError === undefined) return;
    try {
      const result: unknown = deps.onPlatformError(event);
      if (result instanceof Promise) result.catch(() => {});
    } catch {
      // A listener's failure must not fail the webhook: Vonage would retry an event already recorded.
    }
  };

  /**
   * Whether a 1021 answered a HUMAN_AGENT send: the messenger claims `taggedSendClaimId` when it
   * sends one, so a claim that fails here finds that mark. The probe itself sets the mark, so
   * it runs once per status event (a retried webhook reuses the stored answer).
   */
  async function refusedHumanAgent(event: StatusEvent): Promise<boolean> {
    if (deps.learnTagRefusals === false || store.setTagAvailability === undefined) return false;
    const firstLook = await callStore('claim', () =>
      store.claim(`tag-refusal:${event.messageUuid}:${event.status}`, STATUS_DEDUPE_TTL_MS),
    );
    if (!firstLook) {
      const tags = await callStore(
        'getTagAvailability',
        async () => (await store.getTagAvailability?.(event.pageId)) ?? {},
      );
      return Object.hasOwn(tags, HUMAN_AGENT) && tags[HUMAN_AGENT]?.available === false;
    }
    const unmarked = await callStore('claim', () =>
      store.claim(taggedSendClaimId(HUMAN_AGENT, event.messageUuid), STATUS_DEDUPE_TTL_MS),
    );
    return !unmarked;
  }

  async function applyStatus(event: StatusEvent, nowMs: number): Promise<PlatformErrorEvent | undefined> {
    const failed = event.status === 'rejected' || event.status === 'undeliverable';
    if (!failed || event.error === undefined) return undefined;
    const code = event.error.code;
    const key = conversationKey(event.pageId, event.psid);
    const at = Math.min(event.timestamp.getTime(), nowMs);
    const details = { errorCode: code ?? '', errorDetail: event.error.detail ?? event.error.title ?? '' };
    let action: PlatformErrorAction = 'none';
    switch (platformErrorRow(code)?.effect) {
      case 'close_conversation':
        await callStore('markClosed', () => store.markClosed(key, at, 'closed_by_platform'));
        action = 'conversation_closed';
        break;
      case 'user_unavailable':
        await callStore('markClosed', () => store.markClosed(key, at, 'user_unavailable'));
        action = 'user_unavailable';
        break;
      case 'unlink_page':
        await callStore('setPageLinked', () => store.setPageLinked(event.pageId, false, at, details));
        action = 'page_unlinked';
        break;
      case 'unlink_known_page': {
        // Invalid sender proves a lost link only for a Page that worked before; a Page never
        // linked (or a wrong Page ID) is a setup mistake, reported but not recorded.
        const page = await callStore('getPage', () => store.getPage(event.pageId));
        if (page?.linked === true) {
          await callStore('setPageLinked', () => store.setPageLinked(event.pageId, false, at, details));
          action = 'page_unlinked';
        }
        break;
      }
      case 'tag_unavailable':
        if (await refusedHumanAgent(event)) {
          const set = store.setTagAvailability?.bind(store);
          if (set !== undefined) {
            await callStore('setTagAvailability', () => set(event.pageId, HUMAN_AGENT, false, at, details));
            action = 'tag_unavailable';
          }
        }
        break;
    }
    return {
      code,
      kind: platformErrorKind(code),
      action,
      message: platformErrorMessage(code, action, event.pageId),
      pageId: event.pageId,
      psid: event.psid,
      messageUuid: event.messageUuid,
      status: event.status,
      detail: event.error.detail,
      clientRef: event.clientRef,
      timestamp: event.timestamp,
      event,
    };
  }

  /**
   * Verifies, parses and records one webhook. Rejects with `WebhookVerificationError`
   * (`missing_token`, `unknown_page`, …), `ValidationError` (not a Messenger event) or
   * `StoreError`; in every refusal nothing was written.
   */
  async function process(input: ReceiveInput): Promise<ReceiveResult> {
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
    const size =
      typeof body === 'string' ? (body.length * 3 <= maxBodyBytes ? 0 : Buffer.byteLength(body)) : body.byteLength;
    if (size > maxBodyBytes) {
      throw new ValidationError(`The webhook body is larger than maxBodyBytes (${maxBodyBytes})`, [
        { path: 'body', message: `is larger than ${maxBodyBytes} bytes` },
      ]);
    }

    const nowMs = now();
    const claims = verifier.check(bearerToken(input.headers ?? {}), body, nowMs);
    const event = parseWebhook(body);
    checkPage(event);
    // The first write: only a request that passed every check above burns its jti. (Inlined
    // rather than verifier.claim(), and awaited in a try of its own rather than through
    // callStore: two promises fewer on the hot path, the same StoreError on failure.)
    let first: boolean;
    try {
      first = await store.claim(jtiClaimId(claims.jti), jtiTtlMs);
    } catch (error) {
      throw storeError('claim', error);
    }
    if (!first) throw new WebhookVerificationError(REPLAYED, 'replayed_token');

    if (event.kind === 'message') {
      const key = conversationKey(event.pageId, event.psid);
      const at = Math.min(event.timestamp.getTime(), nowMs);
      // Both calls start together (one wait, not two, on a networked store), as Promise.all
      // would, but without its promise and callStore's per call; failures become the same
      // StoreError. A call that throws instead of rejecting fails the same way.
      let recording: Promise<RecordInboundResult> | StoreError;
      try {
        recording = Promise.resolve(store.recordInbound(key, at, event.messageUuid));
      } catch (error) {
        recording = storeError('recordInbound', error);
      }
      let paging: Promise<PageState | null> | StoreError;
      try {
        paging = Promise.resolve(store.getPage(event.pageId));
        // Awaited only after recording settles: a rejection before then is not unhandled.
        paging.then(undefined, ignore);
      } catch (error) {
        paging = storeError('getPage', error);
      }
      if (recording instanceof StoreError) throw recording;
      let recorded: RecordInboundResult;
      try {
        recorded = await recording;
      } catch (error) {
        throw storeError('recordInbound', error);
      }
      if (paging instanceof StoreError) throw paging;
      let page: PageState | null;
      try {
        page = await paging;
      } catch (error) {
        throw storeError('getPage', error);
      }
      // setPageLinked keeps the later change, so an old retried message never undoes a newer unlink.
      if (page?.linked !== true) {
        await callStore('setPageLinked', () => store.setPageLinked(event.pageId, true, at));
      }
      return { event, duplicate: recorded.duplicate, claims };
    }

    if (event.kind === 'status') {
      const platformError = await applyStatus(event, nowMs);
      const dedupeId = `status:${event.messageUuid}:${event.status}`;
      const first = await callStore('claim', () => store.claim(dedupeId, STATUS_DEDUPE_TTL_MS));
      if (platformError !== undefined && first) notify(platformError);
      return platformError === undefined
        ? { event, duplicate: !first, claims }
        : { event, duplicate: !first, claims, platformError };
    }

    return { event, duplicate: false, claims };
  }

  return {
    process,
    maxBodyBytes,
    store,
    configured: verifier !== undefined,
    /** The public `messenger.receive`. */
    receive: process,
  };
}

/** The receive pipeline built by {@link createReceiver}. */
export type Receiver = ReturnType<typeof createReceiver>;
