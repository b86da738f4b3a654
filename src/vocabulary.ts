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

/** The statuses Vonage reports for a Messenger message. */
export const MESSAGE_STATUSES = ['submitted', 'delivered', 'read', 'rejected', 'undeliverable'] as const;
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
