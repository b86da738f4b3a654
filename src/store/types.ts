/**
 * The `SessionStore` contract: small, async, and atomic per operation, so that several
 * processes can share one store. Times are epoch milliseconds (plain numbers serialize the
 * same way in every backend). Every adapter runs the conformance suite
 * `describeSessionStore` from `vonage-messenger/testing`.
 *
 * @module
 */
import type { ConversationKey, PageId } from '../ids.js';

/**
 * Why the platform closed a conversation before its window ended.
 *
 * @example
 * ```ts
 * const reason: ClosedReason = 'closed_by_platform' // Vonage error 1340
 * await store.markClosed(conversationKey(page, user), Date.now(), reason)
 * ```
 */
export type ClosedReason = 'closed_by_platform' | 'user_unavailable';

/**
 * What the store knows about one conversation (Page, PSID).
 *
 * @example
 * ```ts
 * const state: ConversationState = { lastInboundAt: Date.now() - 60_000, lastInboundUuid: 'aaaaaaaa-0000-4000-8000-000000000001' }
 * evaluateSend(state, {}, Date.now()).allowed // true: the user wrote a minute ago
 * ```
 */
export interface ConversationState {
  /** Time of the user's latest message (the window start). Only ever moves forward. */
  lastInboundAt: number;
  /** `message_uuid` of the user's latest message. */
  lastInboundUuid: string;
  /** Time of the latest send from the Page, if any (never extends the window). */
  lastOutboundAt?: number;
  /** Set when the platform refused a send; applies while `closedAt >= lastInboundAt`. */
  closedAt?: number;
  /** Why the platform closed it; set together with `closedAt`. */
  closedReason?: ClosedReason;
  /**
   * Time of the latest user message that came from a Click-to-Messenger ad
   * (`messenger.recordAdReferral`); `response`/`update` stay allowed 7 days after it.
   */
  adReferralAt?: number;
}

/**
 * What the store knows about one Page's link to Vonage.
 *
 * @example
 * ```ts
 * const page: PageState | null = await store.getPage(pageId('102290129340398'))
 * if (page && !page.linked) console.log(`unlinked since ${new Date(page.changedAt).toISOString()}: ${page.errorCode}`)
 * ```
 */
export interface PageState {
  /** False once Vonage reported the Page's link gone; sends then fail fast. */
  linked: boolean;
  /** When the link state last changed (only later changes win). */
  changedAt: number;
  /** The Vonage error code that marked it unlinked (`"1370"`, `"1420"`). */
  errorCode?: string;
  /** Vonage's text for that error. */
  errorDetail?: string;
}

/**
 * Result of {@link SessionStore.recordInbound}.
 *
 * @example
 * ```ts
 * const { duplicate, state }: RecordInboundResult = await store.recordInbound(key, Date.now(), messageUuid)
 * if (!duplicate) console.log('window opened at', new Date(state.lastInboundAt))
 * ```
 */
export interface RecordInboundResult {
  /** The state after the call (the monotonic max of all recorded messages). */
  state: ConversationState;
  /** True when this `messageUuid` had been recorded before; the state is unchanged then. */
  duplicate: boolean;
}

/**
 * Optional details stored with an unlinked Page.
 *
 * @example
 * ```ts
 * const details: PageLinkDetails = { errorCode: '1370', errorDetail: 'Facebook access token expired' }
 * await store.setPageLinked(pageId('102290129340398'), false, Date.now(), details)
 * ```
 */
export interface PageLinkDetails {
  /** The Vonage error code that revealed the broken link (`"1370"`, `"1420"`). */
  errorCode?: string;
  /** Vonage's text for that error, shown by `messenger.pageStatus`. */
  errorDetail?: string;
}

/**
 * Whether a Page may use a message tag, as the platform last told us (a 1021 answer to a
 * HUMAN_AGENT send marks it unavailable).
 *
 * @example
 * ```ts
 * const tags: Record<string, TagAvailability> = (await store.getTagAvailability?.(page)) ?? {}
 * if (tags.HUMAN_AGENT?.available === false) console.log('HUMAN_AGENT refused since', new Date(tags.HUMAN_AGENT.changedAt))
 * ```
 */
export interface TagAvailability {
  /** False once the platform refused the tag for this Page. */
  available: boolean;
  /** When it last changed (only later changes win). */
  changedAt: number;
  /** The Vonage error code that made it unavailable (`"1021"`). */
  errorCode?: string;
  /** Vonage's text for that error. */
  errorDetail?: string;
}

/**
 * Result of {@link SessionStore.takeToken}: a decision, not an exception.
 *
 * @example
 * ```ts
 * const decision: TokenDecision | undefined = await store.takeToken?.(`page:${page}`, 10, 20, Date.now())
 * if (decision && !decision.allowed) await new Promise((r) => setTimeout(r, decision.retryAfterMs))
 * ```
 */
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
 *
 * @example
 * ```ts
 * const store: SessionStore = memoryStore()
 * const messenger = createMessenger({ applicationId, privateKey, signatureSecret, store })
 * ```
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
  /**
   * Optional capability: records that the user's message at `at` came from a
   * Click-to-Messenger ad: `adReferralAt` becomes `max(old, at)`. Does nothing for an unknown
   * conversation (record the message first). `get` returns it; `delete` forgets it.
   */
  recordAdReferral?(key: ConversationKey, at: number): Promise<void>;
  /**
   * Optional capability: records whether the Page may use `tag`, at `at`; an older change
   * than the stored one for that tag is ignored. Details are kept only while unavailable.
   */
  setTagAvailability?(
    pageId: PageId,
    tag: string,
    available: boolean,
    at: number,
    details?: PageLinkDetails,
  ): Promise<void>;
  /** Optional capability: every tag recorded for the Page by `setTagAvailability` (`{}` if none). */
  getTagAvailability?(pageId: PageId): Promise<Record<string, TagAvailability>>;
  /** Forgets a conversation (a user's data deletion request). */
  delete(key: ConversationKey): Promise<void>;
  /** Releases what the store owns (not a client the user passed in). */
  close(): Promise<void>;
}

/**
 * The optional capabilities every store of this package has: a store type that has them all.
 *
 * @example
 * ```ts
 * const store: FullSessionStore = redisStore({ client })
 * await store.recordAdReferral(key, Date.now()) // no optional chaining needed
 * ```
 */
export type FullSessionStore = SessionStore &
  Required<Pick<SessionStore, 'takeToken' | 'recordAdReferral' | 'setTagAvailability' | 'getTagAvailability'>>;
