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
  errorCode?: string | undefined;
  /** Vonage's text for that error, shown by `messenger.pageStatus`. */
  errorDetail?: string | undefined;
}

/**
 * Whether a Page may use a message tag, as the platform last told us (a 1021 answer to a
 * HUMAN_AGENT send marks it unavailable).
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

/** Result of {@link SessionStore.takeToken}: a decision, not an exception. */
export interface TokenDecision {
  /** True when a token was taken: the send may go now. */
  allowed: boolean;
  /** When not allowed: how long until a token is available. */
  retryAfterMs: number;
}

/**
 * Result of {@link SessionStore.lease}: who may deliver one webhook event now.
 */
export interface DeliveryLease {
  /**
   * `acquired`: this caller delivers now and must {@link SessionStore.settle} the attempt;
   * `held`: another attempt is in flight and its lease has not expired; `done`: an attempt
   * succeeded, so the event is never delivered again.
   */
  state: 'acquired' | 'held' | 'done';
  /** The attempt number: 1 for the first; above 1 after a failed or expired attempt. */
  attempt: number;
  /** For `held`: milliseconds until the lease expires (0 otherwise). */
  retryAfterMs: number;
}

/** The most entries one {@link SessionStore.listByLastInbound} call returns. */
export const MAX_INBOUND_RANGE_LIMIT = 1000;

/** A range query on the conversations' latest inbound time (the window start). */
export interface InboundRange {
  /** Exclusive lower bound on lastInboundAt (epoch ms). */
  from: number;
  /** Inclusive upper bound on lastInboundAt (epoch ms). */
  to: number;
  /** Only this Page's conversations; all Pages when omitted. */
  pageId?: PageId | undefined;
  /** At most this many entries (1..1000). */
  limit: number;
  /** Resume strictly after this position in (lastInboundAt, key) order. */
  after?: { at: number; key: ConversationKey } | undefined;
}

/** One conversation listed by {@link SessionStore.listByLastInbound}. */
export interface InboundEntry {
  key: ConversationKey;
  state: ConversationState;
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
 * - `lease(id)` hands an event to one deliverer at a time across the fleet: `acquired` when
 *   nobody holds it (first arrival, or the last attempt failed or its lease expired), `held`
 *   while a lease runs, `done` once an attempt succeeded. `settle(id, attempt, ok)` ends an
 *   attempt; a failure counts only for the attempt that holds the lease.
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
   * Takes the delivery lease of event `id` for `ttlMs`, atomically (see {@link DeliveryLease}).
   * The record is kept at least as long as message ids are (`dedupeTtlMs`), so a late copy
   * of a delivered event stays `done`. Ids the SDK passes start with `{pageId}` (a Redis
   * Cluster hash tag).
   */
  lease(id: string, ttlMs: number, now: number): Promise<DeliveryLease>;
  /**
   * Ends attempt `attempt` of event `id`: `ok` marks the event done (whichever attempt
   * succeeded); a failure frees the lease for the next copy, but only if `attempt` still holds
   * it (a late failure of an expired attempt changes nothing).
   */
  settle(id: string, attempt: number, ok: boolean, now: number): Promise<void>;
  /**
   * Optional capability: everything one verified webhook writes, in one atomic round trip
   * (see {@link IngestInput}). Stores without it get the same effect from the other
   * operations, one call each (`ingestWith` in the SDK).
   */
  ingest?(input: IngestInput): Promise<IngestResult>;
  /**
   * Optional capability: the Page's link state and one of its conversations in one round trip
   * (what a guarded send reads before the network). Stores without it get two calls.
   */
  readForSend?(pageId: PageId, key: ConversationKey): Promise<SendState>;
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
  /**
   * Optional capability: the open conversations whose `lastInboundAt` lies in
   * `(range.from, range.to]`, ordered by `(lastInboundAt, key)` (the key in plain byte order),
   * at most `range.limit`, strictly after `range.after`. Open: not expired, and not closed by
   * the platform since the user's latest message (`closedAt >= lastInboundAt` hides it until
   * the user writes again). The index behind it changes in the same atomic step as
   * `recordInbound`, `ingest`, `markClosed` and `delete`. What `messenger.expiringSoon` reads.
   */
  listByLastInbound?(range: InboundRange): Promise<InboundEntry[]>;
  /** Forgets a conversation (a user's data deletion request). */
  delete(key: ConversationKey): Promise<void>;
  /** Releases what the store owns (not a client the user passed in). */
  close(): Promise<void>;
}

/**
 * What a status webhook's error code makes the store record (see docs/webhooks.md).
 */
export type StatusEffect =
  | { kind: 'close'; reason: ClosedReason }
  | { kind: 'unlink'; ifLinked: boolean; details: PageLinkDetails };

/**
 * The writes of one verified webhook, for {@link SessionStore.ingest}. In order, stopping at
 * the first refusal: claim `replay.id` (a repeat means a replayed token: nothing else is
 * written); then for a message, `recordInbound` and mark the Page linked unless it is known
 * linked (a later change wins); for a status, its `effect` and the one-time `dedupe` claim;
 * finally, when `lease` is given, `lease(lease.id, lease.ttlMs, now)`.
 */
export interface IngestInput {
  /** The receiving clock, epoch ms. */
  now: number;
  /** The token's one-time claim. */
  replay: { id: string; ttlMs: number };
  /** An inbound message. */
  message?: { key: ConversationKey; pageId: PageId; at: number; messageUuid: string } | undefined;
  /** A status event. */
  status?:
    | {
        key: ConversationKey;
        pageId: PageId;
        at: number;
        effect?: StatusEffect | undefined;
        dedupe: { id: string; ttlMs: number };
      }
    | undefined;
  /** The delivery lease to take, when a callback will run. */
  lease?: { id: string; ttlMs: number } | undefined;
}

/**
 * Result of {@link SessionStore.ingest}.
 */
export interface IngestResult {
  /** The replay claim was taken before: nothing else was written. */
  replayed: boolean;
  /** The message id (or status) was recorded before. */
  duplicate: boolean;
  /** For a message: the conversation after recording it. */
  state?: ConversationState | undefined;
  /** For a status with an effect: whether it was recorded (`unlink` with `ifLinked` may not be). */
  applied: boolean;
  /** The lease, when one was asked for (and the token was not replayed). */
  lease?: DeliveryLease | undefined;
}

/**
 * Result of {@link SessionStore.readForSend}: what `getPage` and `get` would return.
 */
export interface SendState {
  page: PageState | null;
  conversation: ConversationState | null;
}

/**
 * The optional capabilities every store of this package has: a store type that has them all.
 */
export type FullSessionStore = SessionStore &
  Required<Pick<SessionStore, 'takeToken' | 'recordAdReferral' | 'setTagAvailability' | 'getTagAvailability'>>;
