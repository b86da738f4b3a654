/**
 * The `SessionStore` contract: small, async, and atomic per operation, so that several
 * processes can share one store. Times are epoch milliseconds (plain numbers serialize the
 * same way in every backend). Every adapter runs the conformance suite
 * `describeSessionStore` from `vonage-messenger/testing`.
 *
 * @module
 */
import type { ConversationKey, PageId } from '../ids.js';
import type { ClosedReason, ConversationState, PageState } from '../vocabulary.js';

export type { ClosedReason, ConversationState, PageState } from '../vocabulary.js';

/** Default conversation lifetime of every store: HUMAN_AGENT's 7 days plus one. */
export const DEFAULT_STORE_TTL_MS = 8 * 24 * 60 * 60 * 1000;
/** Default time every store remembers a `message_uuid` as seen (Vonage retries for 24 h). */
export const DEFAULT_DEDUPE_TTL_MS = 48 * 60 * 60 * 1000;

/** Result of {@link SessionStore.recordInbound}. */
export interface RecordInboundResult {
  /** The state after the call (the monotonic max of all recorded messages). */
  state: ConversationState;
  /** True when this `messageUuid` had been recorded before; the state is unchanged then. */
  duplicate: boolean;
}

/** Optional details stored with an unlinked Page. */
export interface PageLinkDetails {
  /** The Vonage error code that revealed the broken link (`"1370"`, `"1420"`). */
  errorCode?: string;
  /** Vonage's text for that error, shown by `messenger.pageStatus`. */
  errorDetail?: string;
}

/** Result of {@link SessionStore.takeToken}: a decision, not an exception. */
export interface TokenDecision {
  /** True when a token was taken: the send may go now. */
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
  /** The conversation's state, or `null` if the user never wrote (or the store forgot it). */
  get(key: ConversationKey): Promise<ConversationState | null>;
  /** Records a user's message: opens or extends the window, atomically, once per `messageUuid`. */
  recordInbound(key: ConversationKey, at: number, messageUuid: string): Promise<RecordInboundResult>;
  /** Records a send from the Page (monotonic max). Does nothing for an unknown conversation. */
  recordOutbound(key: ConversationKey, at: number): Promise<void>;
  /**
   * Marks the conversation closed by the platform until the user writes after `at`. Does
   * nothing for an unknown conversation; a later `at` wins.
   */
  markClosed(key: ConversationKey, at: number, reason: ClosedReason): Promise<void>;
  /** The Page's link state, or `null` if nothing was ever recorded (treated as linked). */
  getPage(pageId: PageId): Promise<PageState | null>;
  /** Records the Page's link state at `at`; an older change than the stored one is ignored. */
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
