/**
 * The error classes of vonage-messenger: one small class per error, each with a literal
 * `name` and a stable `code`, and one `is*` guard per class that also works across realms and
 * duplicated installs (it reads a registered symbol and `code`, never `instanceof`).
 *
 * No error carries a private key, API secret or signature secret: `toJSON()` writes only the
 * fields each class lists in `json`. docs/errors.md says when each is thrown and what to do.
 *
 * @example
 * ```ts
 * try {
 *   await messenger.sendText({ from: page, to: user, text: 'Hello' })
 * } catch (err) {
 *   if (isWindowClosedError(err)) console.log(err.reason, err.alternatives)
 *   else if (isVonageApiError(err)) console.log(err.status, err.detail, err.instance)
 *   else if (isMessengerError(err)) console.log(err.code, JSON.stringify(err))
 *   else throw err
 * }
 * ```
 *
 * @module
 */
import type { SendAlternative, WebhookVerificationReason, WindowClosedReason } from './vocabulary.js';

/** Stable machine-readable codes, one per error class: branch on these, not on `message`. */
export const ERROR_CODES = [
  'MESSENGER_ERROR',
  'VALIDATION_ERROR',
  'WINDOW_CLOSED',
  'PAGE_NOT_LINKED',
  'WEBHOOK_VERIFICATION_FAILED',
  'VONAGE_API_ERROR',
  'RATE_LIMITED',
  'CLIENT_RATE_LIMITED',
  'STORE_ERROR',
  'NETWORK_ERROR',
  'MISSING_DEPENDENCY',
  'MISSING_STORE_CAPABILITY',
] as const;
/** One of {@link ERROR_CODES}. */
export type MessengerErrorCode = (typeof ERROR_CODES)[number];

// A registered symbol is the same in every realm and every copy of this package.
const BRAND = Symbol.for('vonage-messenger.error');

/** Dates as ISO strings, arrays and plain objects field by field; everything else as is. */
function toPlain(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v)]));
  }
  return value;
}

/** Base class of every error this SDK throws; a bare one has code `MESSENGER_ERROR`. */
export class MessengerError extends Error {
  // `string`, not a literal: each subclass narrows it to its own literal name.
  override readonly name: string = 'MessengerError';
  readonly code: MessengerErrorCode;
  readonly [BRAND] = true;
  /** The fields `toJSON()` writes besides `name`, `code` and `message`: the allow-list. */
  static readonly json: readonly string[] = [];

  constructor(message: string, options?: { code?: MessengerErrorCode; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = options?.code ?? 'MESSENGER_ERROR';
  }

  /** A plain, secret-free representation for logs: never `cause` or `stack`. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.name, code: this.code, message: this.message };
    for (const field of (this.constructor as typeof MessengerError).json) {
      out[field] = toPlain((this as unknown as Record<string, unknown>)[field]);
    }
    return out;
  }
}

/** One problem found in the input: the field (`""` for the whole input) and what is wrong. */
export interface ValidationIssue {
  path: string;
  /** Never echoes a secret or the message text. */
  message: string;
}

/** Input was not acceptable; nothing was sent and nothing was stored. */
export class ValidationError extends MessengerError {
  // `string`: PayloadTooLargeError (webhooks/handler.ts) extends it with its own name.
  override readonly name: string = 'ValidationError';
  static override readonly json = ['issues'];
  readonly issues: readonly ValidationIssue[];

  constructor(message: string, issues: readonly ValidationIssue[] = []) {
    super(message, { code: 'VALIDATION_ERROR' });
    this.issues = issues;
  }
}

/** The send breaks the messaging-window rules; it never reached the network. */
export class WindowClosedError extends MessengerError {
  override readonly name = 'WindowClosedError' as const;
  static override readonly json = ['reason', 'expiredAt', 'alternatives'];
  readonly reason: WindowClosedReason;
  /** `undefined` when the window never opened. */
  readonly expiredAt: Date | undefined;
  /** Sends still allowed now, best first. */
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
}

/** The Page is not (or no longer) linked to Vonage; its sends fail fast until it is re-linked. */
export class PageNotLinkedError extends MessengerError {
  override readonly name = 'PageNotLinkedError' as const;
  static override readonly json = ['pageId', 'since', 'errorCode'];
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
}

/** A webhook is not provably from Vonage; no state was changed. */
export class WebhookVerificationError extends MessengerError {
  override readonly name = 'WebhookVerificationError' as const;
  static override readonly json = ['reason'];
  /** Decides the HTTP status `webhookHandler` answers. */
  readonly reason: WebhookVerificationReason;

  constructor(message: string, reason: WebhookVerificationReason) {
    super(message, { code: 'WEBHOOK_VERIFICATION_FAILED' });
    this.reason = reason;
  }
}

/** One entry of an RFC 7807 `invalid_parameters` list. */
export interface InvalidParameter {
  name: string;
  reason: string;
}

/** The parsed RFC 7807 body of a Vonage error answer. */
export interface VonageProblem {
  status: number;
  /** The problem type URL, which names Vonage's error code. */
  type?: string;
  title?: string;
  /** For a body that is not JSON, its first 500 characters. */
  detail?: string;
  /** Vonage's trace id: quote it to Vonage support. */
  instance?: string;
  invalidParameters?: readonly InvalidParameter[];
}

const PROBLEM_FIELDS = ['status', 'type', 'title', 'detail', 'instance', 'invalidParameters'];

/** Vonage answered a send with an error status; the problem body is on the error. */
export class VonageApiError extends MessengerError {
  // `string`: RateLimitError extends it with its own name.
  override readonly name: string = 'VonageApiError';
  static override readonly json = PROBLEM_FIELDS;
  readonly status: number;
  readonly type: string | undefined;
  readonly title: string | undefined;
  readonly detail: string | undefined;
  readonly instance: string | undefined;
  /** Always an array, even when Vonage sends one object. */
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
}

/** Vonage answered 429, after the configured retries. */
export class RateLimitError extends VonageApiError {
  override readonly name = 'RateLimitError' as const;
  static override readonly json = [...PROBLEM_FIELDS, 'retryAfterMs'];
  readonly retryAfterMs: number;

  constructor(message: string, problem: VonageProblem, retryAfterMs: number) {
    super(message, problem, { code: 'RATE_LIMITED' });
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * The client-side limiter (`createMessenger({ rateLimit })`) refused the send: the Page's
 * token bucket stayed empty for longer than `maxWaitMs`. Nothing left the process.
 */
export class ClientRateLimitError extends MessengerError {
  override readonly name = 'ClientRateLimitError' as const;
  static override readonly json = ['pageId', 'perSecond', 'retryAfterMs'];
  readonly pageId: string;
  /** The rate that was exceeded, in sends per second. */
  readonly perSecond: number;
  readonly retryAfterMs: number;

  constructor(message: string, details: { pageId: string; perSecond: number; retryAfterMs: number }) {
    super(message, { code: 'CLIENT_RATE_LIMITED' });
    this.pageId = details.pageId;
    this.perSecond = details.perSecond;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** The session store failed (unreachable, timed out); sends fail closed. The store's error is `cause`. */
export class StoreError extends MessengerError {
  override readonly name = 'StoreError' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { code: 'STORE_ERROR', cause: options?.cause });
  }
}

/** No answer from Vonage (DNS, refused, reset, timeout): the message may still have been delivered. */
export class NetworkError extends MessengerError {
  override readonly name = 'NetworkError' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { code: 'NETWORK_ERROR', cause: options?.cause });
  }
}

/** An optional peer dependency that the chosen option needs is not installed. */
export class MissingDependencyError extends MessengerError {
  override readonly name = 'MissingDependencyError' as const;
  static override readonly json = ['packages'];
  /** What to install, e.g. `['@vonage/messages', '@vonage/auth']`. */
  readonly packages: readonly string[];

  constructor(message: string, packages: readonly string[], options?: { cause?: unknown }) {
    super(message, { code: 'MISSING_DEPENDENCY', cause: options?.cause });
    this.packages = packages;
  }
}

/**
 * The operation needs an optional capability of the `SessionStore` that the store passed to
 * `createMessenger` does not have (a custom store, or one of this package's stores created with
 * `windowIndex: false`, for `listByLastInbound`). Nothing was read or written.
 */
export class StoreCapabilityError extends MessengerError {
  override readonly name = 'StoreCapabilityError' as const;
  static override readonly json = ['capability'];
  /** The missing method of the store, e.g. `listByLastInbound`. */
  readonly capability: string;

  constructor(message: string, capability: string) {
    super(message, { code: 'MISSING_STORE_CAPABILITY' });
    this.capability = capability;
  }
}

/** A guard that recognizes errors by brand and `code`, so it also works across realms and copies. */
function guard<T extends MessengerError>(...codes: MessengerErrorCode[]): (value: unknown) => value is T {
  return (value: unknown): value is T =>
    typeof value === 'object' &&
    value !== null &&
    BRAND in value &&
    (codes.length === 0 || codes.includes((value as MessengerError).code));
}

/** True for any error thrown by this SDK, even from another copy of the package. */
export const isMessengerError = guard<MessengerError>();
/** True for a {@link ValidationError} (and `PayloadTooLargeError`). */
export const isValidationError = guard<ValidationError>('VALIDATION_ERROR');
/** True for a {@link WindowClosedError}. */
export const isWindowClosedError = guard<WindowClosedError>('WINDOW_CLOSED');
/** True for a {@link PageNotLinkedError}. */
export const isPageNotLinkedError = guard<PageNotLinkedError>('PAGE_NOT_LINKED');
/** True for a {@link WebhookVerificationError}. */
export const isWebhookVerificationError = guard<WebhookVerificationError>('WEBHOOK_VERIFICATION_FAILED');
/** True for a {@link VonageApiError}, including {@link RateLimitError}: Vonage answered. */
export const isVonageApiError = guard<VonageApiError>('VONAGE_API_ERROR', 'RATE_LIMITED');
/** True for a {@link RateLimitError}. */
export const isRateLimitError = guard<RateLimitError>('RATE_LIMITED');
/** True for a {@link ClientRateLimitError}. */
export const isClientRateLimitError = guard<ClientRateLimitError>('CLIENT_RATE_LIMITED');
/** True for a {@link StoreError}. */
export const isStoreError = guard<StoreError>('STORE_ERROR');
/** True for a {@link NetworkError}. */
export const isNetworkError = guard<NetworkError>('NETWORK_ERROR');
/** True for a {@link MissingDependencyError}. */
export const isMissingDependencyError = guard<MissingDependencyError>('MISSING_DEPENDENCY');
/** True for a {@link StoreCapabilityError}. */
export const isStoreCapabilityError = guard<StoreCapabilityError>('MISSING_STORE_CAPABILITY');
