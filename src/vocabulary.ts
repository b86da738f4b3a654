/**
 * The words of the domain, each written once: `as const` lists (for runtime checks and zod
 * enums) and the union types derived from them. Policy, store, webhooks, sends and the
 * testing kit import these; no other module spells out a union of these strings
 * (test/vocabulary.test.ts checks).
 *
 * @module
 */

/** Vonage's `messenger.category` (Facebook's `messaging_type`). */
export const MESSAGING_CATEGORIES = ['response', 'update', 'message_tag'] as const;
/** One of {@link MESSAGING_CATEGORIES}. */
export type MessagingCategory = (typeof MESSAGING_CATEGORIES)[number];

/** The statuses of a message on its way to the user, in the order they come. */
export const DELIVERY_STATUSES = ['submitted', 'delivered', 'read'] as const;
/** One of {@link DELIVERY_STATUSES}. */
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** The statuses Vonage reports for a Messenger message: the delivery ones, or a failure. */
export const MESSAGE_STATUSES = [...DELIVERY_STATUSES, 'rejected', 'undeliverable'] as const;
/** One of {@link MESSAGE_STATUSES}. */
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/** The shapes of Vonage's webhook bodies: `v1` (current) and `v0.1` (legacy, nested `to`/`from`). */
export const WEBHOOK_VERSIONS = ['v1', 'v0.1'] as const;
/** One of {@link WEBHOOK_VERSIONS}. */
export type WebhookVersion = (typeof WEBHOOK_VERSIONS)[number];

/** Why the platform closed a conversation before its window ended (Vonage 1340; 1300/1430). */
export const CLOSED_REASONS = ['closed_by_platform', 'user_unavailable'] as const;
/** One of {@link CLOSED_REASONS}. */
export type ClosedReason = (typeof CLOSED_REASONS)[number];

/** Why a send was refused by the messaging-window policy (docs/errors.md explains each). */
export const WINDOW_CLOSED_REASONS = [
  'no_conversation',
  'window_closed',
  'tag_window_closed',
  'retired_tag',
  'unknown_tag',
  ...CLOSED_REASONS,
] as const;
/** One of {@link WINDOW_CLOSED_REASONS}. */
export type WindowClosedReason = (typeof WINDOW_CLOSED_REASONS)[number];

/** A Page's link to Vonage as this SDK knows it; `unknown` until something was recorded. */
export const PAGE_LINK_STATES = ['linked', 'unlinked', 'unknown'] as const;
/** One of {@link PAGE_LINK_STATES}. */
export type PageLinkState = (typeof PAGE_LINK_STATES)[number];

/** Why a webhook failed verification; `missing_token` is answered 503 (Vonage retries it, signed). */
export const WEBHOOK_VERIFICATION_REASONS = [
  'missing_token',
  'malformed_token',
  'unsupported_algorithm',
  'bad_signature',
  'payload_hash_mismatch',
  'missing_payload_hash',
  'wrong_issuer',
  'stale_token',
  'future_token',
  'replayed_token',
  'wrong_api_key',
  'wrong_application',
  'unknown_page',
] as const;
/** One of {@link WEBHOOK_VERIFICATION_REASONS}. */
export type WebhookVerificationReason = (typeof WEBHOOK_VERIFICATION_REASONS)[number];

/** A coarse grouping of Messages API error codes, for apps that react to refusals (webhooks/platform.ts maps the codes). */
export const PLATFORM_ERROR_KINDS = [
  'window_closed', // 1340: outside the 24-hour window
  'user_unavailable', // 1300 (not on the network), 1430 (invalid recipient)
  'page_unlinked', // 1370 (expired Page token), 1420 (invalid sender: Page not linked to this application)
  'invalid_tag', // 1021: Meta refused the message tag (HUMAN_AGENT needs App Review approval)
  'media', // 1380, 1381, 1382: the media URL, size or type
  'throttled', // 1000: Vonage throttled the send
  'transient', // 1331: a provider error; retrying later may work
  'invalid_request', // 1020, 1400, 1410, 1440, 1450: the request itself was invalid
  'other', // any other code (or none)
] as const;
/** One of {@link PLATFORM_ERROR_KINDS}. */
export type PlatformErrorKind = (typeof PLATFORM_ERROR_KINDS)[number];

/** What the SDK recorded because of a platform error. */
export const PLATFORM_ERROR_ACTIONS = ['conversation_closed', 'user_unavailable', 'page_unlinked', 'none'] as const;
/** One of {@link PLATFORM_ERROR_ACTIONS}. */
export type PlatformErrorAction = (typeof PLATFORM_ERROR_ACTIONS)[number];

/** What the store knows about one conversation (Page, PSID). Times are epoch milliseconds. */
export interface ConversationState {
  /** The user's latest message (the window start). Only ever moves forward. */
  lastInboundAt: number;
  lastInboundUuid: string;
  /** The Page's latest send; never extends the window. */
  lastOutboundAt?: number;
  /** Set when the platform refused a send; applies while `closedAt >= lastInboundAt`. */
  closedAt?: number;
  /** Set together with `closedAt`. */
  closedReason?: ClosedReason;
}

/** What the store knows about one Page's link to Vonage. */
export interface PageState {
  /** False once Vonage reported the link gone; sends then fail fast. */
  linked: boolean;
  /** When the link state last changed (only later changes win). */
  changedAt: number;
  /** The Vonage error code that marked it unlinked (`"1370"`, `"1420"`). */
  errorCode?: string;
  errorDetail?: string;
}

/** A send that is still allowed, offered with a refusal (a decision's or a `WindowClosedError`'s `alternatives`). */
export interface SendAlternative {
  category: MessagingCategory;
  /** The tag to send with, for `message_tag`. */
  tag?: string;
  /** The first instant at which this alternative is refused. */
  until: Date;
  /** Its conditions, when it has some (HUMAN_AGENT: written by a person). */
  note?: string;
}
