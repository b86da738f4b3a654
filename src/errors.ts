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

/**
 * Stable machine-readable codes, one per error class.
 *
 * @example
 * ```ts
 * const retryable: MessengerErrorCode[] = ['RATE_LIMITED', 'STORE_ERROR']
 * if (isMessengerError(err) && retryable.includes(err.code)) scheduleRetry()
 * ```
 */
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
 * try {
 *   await messenger.sendText({ from: page, to: user, text: 'Hello' })
 * } catch (err) {
 *   if (isMessengerError(err)) console.log(err.code)
 * }
 * ```
 */
export class MessengerError extends Error {
  /** Stable across versions, unlike `message`: branch on this. */
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

/**
 * One problem found in the input, as zod reports it, path joined with dots.
 *
 * @example
 * ```ts
 * const issue: ValidationIssue = { path: 'text', message: 'text must be at most 640 characters' }
 * ```
 */
export interface ValidationIssue {
  /** The field at fault, e.g. `"text"`, `"from"`, `"retry.retries"` (`""` for the whole input). */
  path: string;
  /** What is wrong with it; never echoes a secret or the message text. */
  message: string;
}

/**
 * Input was not acceptable: a malformed PSID, text over 640 characters, an `http:` URL, a
 * Page that is not declared in `pages`. Nothing was sent and nothing was stored.
 *
 * @example
 * ```ts
 * try {
 *   await messenger.sendText({ from: page, to: user, text: '' })
 * } catch (err) {
 *   if (err instanceof ValidationError) for (const { path, message } of err.issues) console.log(path, message)
 * }
 * ```
 */
export class ValidationError extends MessengerError {
  /** One entry per problem, so a form can show each next to its field. */
  readonly issues: readonly ValidationIssue[];

  constructor(message: string, issues: readonly ValidationIssue[] = []) {
    super(message, { code: 'VALIDATION_ERROR' });
    this.issues = issues;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), issues: this.issues };
  }
}

/**
 * Why a send was refused by the messaging-window policy (see docs/errors.md for each).
 *
 * @example
 * ```ts
 * const decision = await messenger.canSend({ from: page, to: user })
 * if (!decision.allowed && decision.reason === 'window_closed') offerHumanHandover()
 * ```
 */
export type WindowClosedReason =
  | 'no_conversation'
  | 'window_closed'
  | 'tag_window_closed'
  | 'retired_tag'
  | 'unknown_tag'
  | 'closed_by_platform'
  | 'user_unavailable'
  | 'tag_unavailable';

/**
 * A send that is still allowed, offered with a refusal.
 *
 * @example
 * ```ts
 * const decision = await messenger.canSend({ from: page, to: user })
 * const options: readonly SendAlternative[] = decision.allowed ? [] : decision.alternatives
 * const humanAgent = options.find((a) => a.tag === 'HUMAN_AGENT')
 * if (humanAgent) console.log(`a person may answer until ${humanAgent.until.toISOString()}`)
 * ```
 */
export interface SendAlternative {
  /** The category to send with (Vonage's `messenger.category`). */
  category: 'response' | 'update' | 'message_tag';
  /** The tag to send with, for `message_tag`. */
  tag?: string;
  /** The first instant at which this alternative is refused (like a decision's `expiresAt`). */
  until: Date;
  /** When the alternative has conditions (HUMAN_AGENT: human-written, Meta approval). */
  note?: string;
}

/**
 * The send breaks Messenger's messaging-window rules; it never reached the network.
 * `alternatives` lists what is still allowed for this conversation.
 *
 * @example
 * ```ts
 * try {
 *   await messenger.sendText({ from: page, to: user, text: 'Still there?' })
 * } catch (err) {
 *   if (!isWindowClosedError(err)) throw err
 *   console.log(err.reason, err.expiredAt, err.alternatives)
 * }
 * ```
 */
export class WindowClosedError extends MessengerError {
  /** Which rule refused the send. */
  readonly reason: WindowClosedReason;
  /** When the window this send needed closed; `undefined` if it never opened. */
  readonly expiredAt: Date | undefined;
  /** Sends still allowed now, best first (empty when only the user can reopen the conversation). */
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
 *
 * @example
 * ```ts
 * try {
 *   await messenger.sendText({ from: page, to: user, text: 'Hello' })
 * } catch (err) {
 *   if (!isPageNotLinkedError(err)) throw err
 *   alertOps(`re-link Page ${err.pageId} (Vonage error ${err.errorCode})`)
 *   // after re-linking it in the Vonage Dashboard:
 *   await messenger.markPageLinked(err.pageId)
 * }
 * ```
 */
export class PageNotLinkedError extends MessengerError {
  /** The Page whose link to Vonage is gone. */
  readonly pageId: string;
  /** When the Page was marked unlinked. */
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

/**
 * Why a webhook failed verification. `missing_token` answers 503 (Vonage retries, signed).
 *
 * @example
 * ```ts
 * const clockProblems: WebhookVerificationReason[] = ['stale_token', 'future_token']
 * ```
 */
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

/**
 * A webhook request is not provably from Vonage. No state was changed.
 *
 * @example
 * ```ts
 * try {
 *   await messenger.receive({ headers: request.headers, body: await request.text() })
 * } catch (err) {
 *   if (err instanceof WebhookVerificationError) console.warn('rejected webhook:', err.reason)
 *   else throw err
 * }
 * ```
 */
export class WebhookVerificationError extends MessengerError {
  /** Which check failed; decides the HTTP status `webhookHandler` answers. */
  readonly reason: WebhookVerificationReason;

  constructor(message: string, reason: WebhookVerificationReason) {
    super(message, { code: 'WEBHOOK_VERIFICATION_FAILED' });
    this.reason = reason;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), reason: this.reason };
  }
}

/**
 * One entry of an RFC 7807 `invalid_parameters` list.
 *
 * @example
 * ```ts
 * const bad: InvalidParameter = { name: 'to', reason: 'Invalid recipient' }
 * ```
 */
export interface InvalidParameter {
  /** The request field Vonage refused. */
  name: string;
  /** Vonage's explanation. */
  reason: string;
}

/**
 * The parsed RFC 7807 body of a Vonage error response.
 *
 * @example
 * ```ts
 * const problem: VonageProblem = { status: 402, title: 'Low balance', detail: 'This request could not be performed due to your account balance being low.' }
 * const err = new VonageApiError('Vonage refused the send', problem)
 * ```
 */
export interface VonageProblem {
  /** The HTTP status of the answer. */
  status: number;
  /** The problem type URL, e.g. `https://developer.nexmo.com/api-errors/messages-olympus#1150`. */
  type?: string;
  /** A short summary, e.g. `"Invalid sender"`. */
  title?: string;
  /** Vonage's explanation (for a non-JSON body, its first 500 characters). */
  detail?: string;
  /** Vonage's trace id: quote it to Vonage support. */
  instance?: string;
  /** The fields Vonage refused, always an array. */
  invalidParameters?: readonly InvalidParameter[];
}

/**
 * Vonage answered a send with an error status. Carries the parsed problem body, so that
 * `err.detail` and `err.invalidParameters` say what was wrong (not only "status 422").
 *
 * @example
 * ```ts
 * try {
 *   await messenger.sendText({ from: page, to: user, text: 'Hello' })
 * } catch (err) {
 *   if (!isVonageApiError(err)) throw err
 *   console.log(err.status, err.title, err.detail, err.invalidParameters, err.instance)
 * }
 * ```
 */
export class VonageApiError extends MessengerError {
  /** The HTTP status Vonage answered. */
  readonly status: number;
  /** The problem type URL, which names Vonage's error code. */
  readonly type: string | undefined;
  /** A short summary, e.g. `"Invalid sender"`. */
  readonly title: string | undefined;
  /** Vonage's explanation of what was wrong. */
  readonly detail: string | undefined;
  /** Vonage's trace id: quote it to Vonage support. */
  readonly instance: string | undefined;
  /** The fields Vonage refused (always an array, even when Vonage sends one object). */
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

/**
 * Vonage answered 429 (after any retries), or the client-side limiter refused the send.
 *
 * @example
 * ```ts
 * try {
 *   await messenger.sendText({ from: page, to: user, text: 'Hello' })
 * } catch (err) {
 *   if (!(err instanceof RateLimitError)) throw err
 *   await new Promise((resolve) => setTimeout(resolve, err.retryAfterMs))
 * }
 * ```
 */
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

/**
 * The session store failed (unreachable, timed out). Sends fail closed: nothing was sent.
 * The store's own error is `cause`.
 *
 * @example
 * ```ts
 * try {
 *   await messenger.sendText({ from: page, to: user, text: 'Hello' })
 * } catch (err) {
 *   if (err instanceof StoreError) console.error('session store down:', err.cause)
 *   else throw err
 * }
 * ```
 */
export class StoreError extends MessengerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { code: 'STORE_ERROR', cause: options?.cause });
  }
}

/**
 * The request to Vonage failed before an answer arrived (DNS, refused, reset, timeout).
 * The message may still have been delivered, so do not retry blindly.
 *
 * @example
 * ```ts
 * try {
 *   await messenger.sendText({ from: page, to: user, text: 'Hello', clientRef: 'order-42' })
 * } catch (err) {
 *   // Retry only if a duplicate is acceptable: the status webhook for 'order-42' may still come.
 *   if (err instanceof NetworkError) console.warn('delivery unknown:', err.cause)
 *   else throw err
 * }
 * ```
 */
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

/**
 * True for any error thrown by this SDK, even from another copy of the package.
 *
 * @example
 * ```ts
 * try {
 *   await messenger.sendText({ from: page, to: user, text: 'Hello' })
 * } catch (err) {
 *   if (isMessengerError(err)) log.warn({ err: err.toJSON() })
 *   else throw err
 * }
 * ```
 */
export const isMessengerError = (value: unknown): value is MessengerError => hasCode(value);
/**
 * True for a {@link WindowClosedError}.
 *
 * @example
 * ```ts
 * try {
 *   await messenger.sendText({ from: page, to: user, text: 'Hello' })
 * } catch (err) {
 *   if (isWindowClosedError(err)) console.log(err.reason, err.alternatives)
 *   else throw err
 * }
 * ```
 */
export const isWindowClosedError = (value: unknown): value is WindowClosedError => hasCode(value, 'WINDOW_CLOSED');
/**
 * True for a {@link PageNotLinkedError}.
 *
 * @example
 * ```ts
 * try {
 *   await messenger.sendText({ from: page, to: user, text: 'Hello' })
 * } catch (err) {
 *   if (isPageNotLinkedError(err)) alertOps(`re-link Page ${err.pageId}`)
 *   else throw err
 * }
 * ```
 */
export const isPageNotLinkedError = (value: unknown): value is PageNotLinkedError => hasCode(value, 'PAGE_NOT_LINKED');
/**
 * True for a {@link VonageApiError} (including {@link RateLimitError}).
 *
 * @example
 * ```ts
 * try {
 *   await messenger.sendText({ from: page, to: user, text: 'Hello' })
 * } catch (err) {
 *   if (isVonageApiError(err)) console.log(err.status, err.detail)
 *   else throw err
 * }
 * ```
 */
export const isVonageApiError = (value: unknown): value is VonageApiError =>
  hasCode(value, 'VONAGE_API_ERROR', 'RATE_LIMITED');
