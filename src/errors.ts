/**
 * The error classes of vonage-messenger. Every error `extends MessengerError` and carries a
 * stable `code`, so callers can branch on `err.code` (or `instanceof`, or the `is*` guards
 * that also work across realms and duplicated installs).
 *
 * No error ever carries a private key, API secret or signature secret: `toJSON()` is built
 * from an allow-list of fields.
 *
 * @module
 */

/** Stable machine-readable codes, one per error class. */
export type MessengerErrorCode =
  | 'MESSENGER_ERROR'
  | 'VALIDATION_ERROR'
  | 'WINDOW_CLOSED'
  | 'PAGE_NOT_LINKED'
  | 'WEBHOOK_VERIFICATION_FAILED'
  | 'VONAGE_API_ERROR'
  | 'RATE_LIMITED'
  | 'STORE_ERROR'
  | 'NETWORK_ERROR';

const BRAND = Symbol.for('vonage-messenger.error');

/**
 * Base class of every error this SDK throws.
 *
 * @example
 * ```ts
 * try { await messenger.sendText({ from, to, text: 'hi' }) }
 * catch (err) { if (isMessengerError(err)) console.log(err.code) }
 * ```
 */
export class MessengerError extends Error {
  readonly code: MessengerErrorCode;
  /** Marks instances across realms and duplicated copies of the package. */
  readonly [BRAND] = true;

  constructor(message: string, options?: { code?: MessengerErrorCode; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options?.code ?? 'MESSENGER_ERROR';
  }

  /** A plain, secret-free representation for logs. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/** One problem found in the input, as zod reports it, path joined with dots. */
export interface ValidationIssue {
  path: string;
  message: string;
}

/**
 * Input was not acceptable: a malformed PSID, text over 640 characters, an `http:` URL, a
 * Page that is not declared in `pages`. Nothing was sent and nothing was stored.
 */
export class ValidationError extends MessengerError {
  readonly issues: readonly ValidationIssue[];

  constructor(message: string, issues: readonly ValidationIssue[] = []) {
    super(message, { code: 'VALIDATION_ERROR' });
    this.issues = issues;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), issues: this.issues };
  }
}

/** Why a send was refused by the messaging-window policy. */
export type WindowClosedReason =
  | 'no_conversation'
  | 'window_closed'
  | 'tag_window_closed'
  | 'retired_tag'
  | 'unknown_tag'
  | 'closed_by_platform'
  | 'user_unavailable';

/** A send that is still allowed, offered with a refusal. */
export interface SendAlternative {
  category: 'response' | 'update' | 'message_tag';
  tag?: string;
  /** The first instant at which this alternative is refused (like a decision's `expiresAt`). */
  until: Date;
  /** When the alternative has conditions (HUMAN_AGENT: human-written, Meta approval). */
  note?: string;
}

/**
 * The send breaks Messenger's messaging-window rules; it never reached the network.
 * `alternatives` lists what is still allowed for this conversation.
 */
export class WindowClosedError extends MessengerError {
  readonly reason: WindowClosedReason;
  readonly expiredAt: Date | undefined;
  readonly alternatives: readonly SendAlternative[];

  constructor(
    message: string,
    details: { reason: WindowClosedReason; expiredAt?: Date; alternatives?: readonly SendAlternative[] },
  ) {
    super(message, { code: 'WINDOW_CLOSED' });
    this.reason = details.reason;
    this.expiredAt = details.expiredAt;
    this.alternatives = details.alternatives ?? [];
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      reason: this.reason,
      expiredAt: this.expiredAt?.toISOString(),
      alternatives: this.alternatives.map((a) => ({ ...a, until: a.until.toISOString() })),
    };
  }
}

/**
 * The Facebook Page is not (or no longer) linked to the Vonage account or application.
 * Sends from it fail fast, without a network call, until it is linked again.
 */
export class PageNotLinkedError extends MessengerError {
  readonly pageId: string;
  readonly since: Date | undefined;
  /** The Vonage error code that revealed it (`"1370"`, `"1420"`), when known. */
  readonly errorCode: string | undefined;

  constructor(message: string, details: { pageId: string; since?: Date; errorCode?: string }) {
    super(message, { code: 'PAGE_NOT_LINKED' });
    this.pageId = details.pageId;
    this.since = details.since;
    this.errorCode = details.errorCode;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), pageId: this.pageId, since: this.since?.toISOString(), errorCode: this.errorCode };
  }
}

/** Why a webhook failed verification. `missing_token` answers 503 (Vonage retries, signed). */
export type WebhookVerificationReason =
  | 'missing_token'
  | 'malformed_token'
  | 'unsupported_algorithm'
  | 'bad_signature'
  | 'payload_hash_mismatch'
  | 'missing_payload_hash'
  | 'wrong_issuer'
  | 'stale_token'
  | 'future_token'
  | 'replayed_token'
  | 'wrong_api_key'
  | 'wrong_application'
  | 'unknown_page';

/** A webhook request is not provably from Vonage. No state was changed. */
export class WebhookVerificationError extends MessengerError {
  readonly reason: WebhookVerificationReason;

  constructor(message: string, reason: WebhookVerificationReason) {
    super(message, { code: 'WEBHOOK_VERIFICATION_FAILED' });
    this.reason = reason;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), reason: this.reason };
  }
}

/** One entry of an RFC 7807 `invalid_parameters` list. */
export interface InvalidParameter {
  name: string;
  reason: string;
}

/** The parsed RFC 7807 body of a Vonage error response. */
export interface VonageProblem {
  status: number;
  type?: string;
  title?: string;
  detail?: string;
  instance?: string;
  invalidParameters?: readonly InvalidParameter[];
}

/**
 * Vonage answered a send with an error status. Carries the parsed problem body, so that
 * `err.detail` and `err.invalidParameters` say what was wrong (not only "status 422").
 */
export class VonageApiError extends MessengerError {
  readonly status: number;
  readonly type: string | undefined;
  readonly title: string | undefined;
  readonly detail: string | undefined;
  readonly instance: string | undefined;
  readonly invalidParameters: readonly InvalidParameter[];

  constructor(message: string, problem: VonageProblem, options?: { code?: MessengerErrorCode; cause?: unknown }) {
    super(message, { code: options?.code ?? 'VONAGE_API_ERROR', cause: options?.cause });
    this.status = problem.status;
    this.type = problem.type;
    this.title = problem.title;
    this.detail = problem.detail;
    this.instance = problem.instance;
    this.invalidParameters = problem.invalidParameters ?? [];
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      status: this.status,
      type: this.type,
      title: this.title,
      detail: this.detail,
      instance: this.instance,
      invalidParameters: this.invalidParameters,
    };
  }
}

/** Vonage answered 429 (after any retries), or the client-side limiter refused the send. */
export class RateLimitError extends VonageApiError {
  /** How long to wait before trying again. */
  readonly retryAfterMs: number;

  constructor(message: string, problem: VonageProblem, retryAfterMs: number) {
    super(message, problem, { code: 'RATE_LIMITED' });
    this.retryAfterMs = retryAfterMs;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), retryAfterMs: this.retryAfterMs };
  }
}

/** The session store failed (unreachable, timed out). Sends fail closed: nothing was sent. */
export class StoreError extends MessengerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { code: 'STORE_ERROR', cause: options?.cause });
  }
}

/** The request to Vonage failed before an answer arrived (DNS, refused, reset, timeout). */
export class NetworkError extends MessengerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { code: 'NETWORK_ERROR', cause: options?.cause });
  }
}

function hasCode(value: unknown, ...codes: MessengerErrorCode[]): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (!(BRAND in value)) return false;
  return codes.length === 0 || codes.includes((value as MessengerError).code);
}

/** True for any error thrown by this SDK, even from another copy of the package. */
export const isMessengerError = (value: unknown): value is MessengerError => hasCode(value);
/** True for a {@link WindowClosedError}. */
export const isWindowClosedError = (value: unknown): value is WindowClosedError => hasCode(value, 'WINDOW_CLOSED');
/** True for a {@link PageNotLinkedError}. */
export const isPageNotLinkedError = (value: unknown): value is PageNotLinkedError => hasCode(value, 'PAGE_NOT_LINKED');
/** True for a {@link VonageApiError} (including {@link RateLimitError}). */
export const isVonageApiError = (value: unknown): value is VonageApiError =>
  hasCode(value, 'VONAGE_API_ERROR', 'RATE_LIMITED');
