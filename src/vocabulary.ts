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
  'tag_unavailable', // the platform refused the tag for this Page (1021 to a HUMAN_AGENT send)
] as const;
/** One of {@link WINDOW_CLOSED_REASONS}. */
export type WindowClosedReason = (typeof WINDOW_CLOSED_REASONS)[number];

/**
 * Which window allows a send: `standard` (24 h after the user's last message), `ad_referral`
 * (7 days after a message from a Click-to-Messenger ad, when that ends later) or `tag`.
 */
export const SEND_WINDOWS = ['standard', 'ad_referral', 'tag'] as const;
/** One of {@link SEND_WINDOWS}. */
export type SendWindow = (typeof SEND_WINDOWS)[number];

/**
 * The windows `messenger.expiringSoon` and `messenger.watchWindows` list: `standard` (replies,
 * 24 h after the user's last message) and `human_agent` (the HUMAN_AGENT tag, 7 days). The
 * Click-to-Messenger ad window is not listed: stores index `lastInboundAt` only (docs/rules.md,
 * "Answer in time").
 */
export const CLOSING_WINDOWS = ['standard', 'human_agent'] as const;
/** One of {@link CLOSING_WINDOWS}. */
export type ClosingWindow = (typeof CLOSING_WINDOWS)[number];

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
  'user_unavailable', // 1170, 1300, 1430: the PSID can't be reached from this Page
  'page_unlinked', // 1370 (expired Page token), 1420 (invalid sender: Page not linked to this application)
  'invalid_tag', // 1021: the message tag was refused
  'media', // 1380, 1381, 1382: the media URL, size or type
  'throttled', // 1000: Vonage throttled the send
  'transient', // 1180, 1331: temporarily unavailable; retrying later may work
  'internal_error', // 1030: Vonage's own platform failed to process the request
  'invalid_request', // 1010, 1020, 1400, 1410, 1431, 1440, 1450: the request itself was invalid
  'rejected_by_provider', // 1282: the provider rejected the message (policy or content)
  'blocked', // 2001: the provider's fraud or abuse protection blocked it
  'expired', // 1360: the message expired before it was delivered
  'delivery_failed', // 1330: an unknown permanent delivery failure
  'other', // any other code (or none): Vonage's own text is in `detail`
] as const;
/** One of {@link PLATFORM_ERROR_KINDS}. */
export type PlatformErrorKind = (typeof PLATFORM_ERROR_KINDS)[number];

/** What the SDK recorded because of a platform error. */
export const PLATFORM_ERROR_ACTIONS = [
  'conversation_closed',
  'user_unavailable',
  'page_unlinked',
  'tag_unavailable',
  'none',
] as const;
/** One of {@link PLATFORM_ERROR_ACTIONS}. */
export type PlatformErrorAction = (typeof PLATFORM_ERROR_ACTIONS)[number];

/**
 * What a platform error code makes the SDK record (a row of `PLATFORM_ERRORS`): close the
 * conversation (1340), mark the user unreachable (1170, 1300, 1430), mark the Page unlinked
 * (1370; 1420 only for a Page known linked), mark the tag unavailable for the Page (1021 to a
 * HUMAN_AGENT send), or nothing.
 */
export const PLATFORM_ERROR_EFFECTS = [
  'close_conversation',
  'user_unavailable',
  'unlink_page',
  'unlink_known_page',
  'tag_unavailable',
  'none',
] as const;
/** One of {@link PLATFORM_ERROR_EFFECTS}. */
export type PlatformErrorEffect = (typeof PLATFORM_ERROR_EFFECTS)[number];

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
  /**
   * Time of the latest user message that came from a Click-to-Messenger ad
   * (`messenger.recordAdReferral`); `response`/`update` stay allowed 7 days after it.
   */
  adReferralAt?: number;
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
