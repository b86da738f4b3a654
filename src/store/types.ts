/**
 * The `SessionStore` contract: small, async, and atomic per operation, so that several
 * processes can share one store. Times are epoch milliseconds (plain numbers serialize the
 * same way in every backend). Every adapter runs the conformance suite
 * `describeSessionStore` from `vonage-messenger/testing`.
 *
 * @module
 */
import type { ConversationKey, PageId } from '../ids.js';

/** Why the platform closed a conversation before its window ended. */
export type ClosedReason = 'closed_by_platform' | 'user_unavailable';

/** What the store knows about one conversation (Page, PSID). */
export interface ConversationState {
  /** Time of the user's latest message (the window start). Only ever moves forward. */
  lastInboundAt: number;
  /** `message_uuid` of the user's latest message. */
  lastInboundUuid: string;
  /** Time of the latest send from the Page, if any (never extends the window). */
  lastOutboundAt?: number;
  /** Set when the platform refused a send; applies while `closedAt >= lastInboundAt`. */
  closedAt?: number;
  closedReason?: ClosedReason;
}

/** What the store knows about one Page's link to Vonage. */
export interface PageState {
  linked: boolean;
  /** When the link state last changed (only later changes win). */
  changedAt: number;
  /** The Vonage error code that marked it unlinked (`"1370"`, `"1420"`). */
  errorCode?: string;
  /** Vonage's text for that error. */
  errorDetail?: string;
}

/** Result of {@link SessionStore.recordInbound}. */
export interface RecordInboundResult {
  /** The state after the call (the monotonic max of all recorded messages). */
  state: ConversationState;
  /** True when this `messageUuid` had been recorded before; the state is unchanged then. */
  duplicate: boolean;
}

/** Optional details stored with an unlinked Page. */
export interface PageLinkDetails {
  errorCode?: string;
  errorDetail?: string;
}

/** Result of {@link SessionStore.takeToken}: a decision, not an exception. */
export interface TokenDecision {
  allowed: boolean;
  /** When not allowed: how long until a token is available. */
  retryAfterMs: number;
}

/**
 * Storage for messaging-window state, Page link state and one-time claims.
 *
 * Rules every implementation keeps (checked by `describeSessionStore`):
 * - `recordInbound` is one atomic step: a repeated `messageUuid` is a duplicate and changes
 *   nothing; otherwise `lastInboundAt` becomes `max(old, at)` (an older message never
 *   shortens a window).
 * - `markClosed` and `setPageLinked` ignore a change older than the one stored.
 * - `claim(id)` returns true exactly once per id within `ttlMs`.
 * - Errors are thrown as they come; the SDK wraps them in `StoreError`.
 */
export interface SessionStore {
  get(key: ConversationKey): Promise<ConversationState | null>;
  recordInbound(key: ConversationKey, at: number, messageUuid: string): Promise<RecordInboundResult>;
  /** Records a send from the Page (monotonic max). Does nothing for an unknown conversation. */
  recordOutbound(key: ConversationKey, at: number): Promise<void>;
  /**
   * Marks the conversation closed by the platform until the user writes after `at`. Does
   * nothing for an unknown conversation; a later `at` wins.
   */
  markClosed(key: ConversationKey, at: number, reason: ClosedReason): Promise<void>;
  getPage(pageId: PageId): Promise<PageState | null>;
  setPageLinked(pageId: PageId, linked: boolean, at: number, details?: PageLinkDetails): Promise<void>;
  /** True the first time `id` is claimed within `ttlMs`, false after (replay / dedupe). */
  claim(id: string, ttlMs: number): Promise<boolean>;
  /**
   * Optional capability: takes one token from the bucket `bucket` (refilled at `ratePerSecond`,
   * holding at most `burst`), atomically, so a fleet shares one per-Page send limit. Stores
   * without it fall back to a per-process limiter.
   */
  takeToken?(bucket: string, ratePerSecond: number, burst: number, now: number): Promise<TokenDecision>;
  /** Forgets a conversation (a user's data deletion request). */
  delete(key: ConversationKey): Promise<void>;
  /** Releases what the store owns (not a client the user passed in). */
  close(): Promise<void>;
}
