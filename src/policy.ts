/**
 * Messenger's messaging-window rules as data, and a pure function that judges a send
 * against them. Time is always passed in, so the rules in force at `now` apply (a tag
 * retired on a date is allowed before it and refused after it).
 *
 * Sources: docs/rules.md (Meta's Send API reference and 2026 changelog; Vonage's Messages
 * API reference).
 *
 * @module
 */
import { ValidationError } from './errors.js';
import { isDate } from './is-date.js';
import {
  type ClosingWindow,
  type ConversationState,
  MESSAGING_CATEGORIES,
  type MessagingCategory,
  type SendAlternative,
  type SendWindow,
  type WindowClosedReason,
} from './vocabulary.js';

export type { MessagingCategory } from './vocabulary.js';

/** The tags this SDK knows by name (any string may be asked about; unknown ones are refused). */
export type KnownTag =
  | 'HUMAN_AGENT'
  | 'ACCOUNT_UPDATE'
  | 'CONFIRMED_EVENT_UPDATE'
  | 'POST_PURCHASE_UPDATE'
  | RetiredIn2020Tag;

/** The 16 tags Meta retired on 2020-03-04. */
export type RetiredIn2020Tag =
  | 'BUSINESS_PRODUCTIVITY'
  | 'COMMUNITY_ALERT'
  | 'CONFIRMED_EVENT_REMINDER'
  | 'NON_PROMOTIONAL_SUBSCRIPTION'
  | 'PAIRING_UPDATE'
  | 'APPLICATION_UPDATE'
  | 'PAYMENT_UPDATE'
  | 'PERSONAL_FINANCE_UPDATE'
  | 'SHIPPING_UPDATE'
  | 'RESERVATION_UPDATE'
  | 'ISSUE_RESOLUTION'
  | 'APPOINTMENT_UPDATE'
  | 'GAME_EVENT'
  | 'TRANSPORTATION_UPDATE'
  | 'FEATURE_FUNCTIONALITY_UPDATE'
  | 'TICKET_UPDATE';

/** The rule for one message tag. */
export interface TagRule {
  /**
   * How long after the user's last message the tag may be used; `null` means no limit for a
   * conversation the user started (the pre-2026 ACCOUNT_UPDATE family).
   */
  readonly windowMs: number | null;
  /** From this instant on, Meta refuses the tag. */
  readonly retiredAt?: Date;
  /** What Meta named as the replacement when it retired the tag. */
  readonly replacement?: string;
  /** Conditions a caller must meet (shown with alternatives and refusals). */
  readonly note?: string;
}

/** The complete rule set. Override parts with {@link definePolicy}. */
export interface MessengerPolicy {
  /** The standard messaging window (categories `response` and `update`). */
  readonly standardWindowMs: number;
  /**
   * How long after a user's message that came from a Click-to-Messenger ad `response` and
   * `update` stay allowed (see `messenger.recordAdReferral`). Default 7 days.
   */
  readonly adReferralWindowMs?: number;
  /** Windows close this much early, for clock skew between us and Meta. */
  readonly safetyMarginMs: number;
  /** The rule of each tag by name; a tag not listed here is refused as `unknown_tag`. */
  readonly tags: Readonly<Record<string, TagRule>>;
}

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

/**
 * Meta's 2026 retirement of the three update tags (changelog entry of 2026-03-27: error 100
 * from this day, https://developers.facebook.com/documentation/business-messaging/messenger-platform/changelog).
 */
export const UPDATE_TAGS_RETIRED_AT = new Date('2026-04-27T00:00:00Z');
/** Meta's 2020 retirement of 16 tags (announced 2019-08-29, enforced from this day). */
export const TAGS_RETIRED_2020_AT = new Date('2020-03-04T00:00:00Z');

const UTILITY = 'utility message templates (sent through the Graph API, not through Vonage)';
const HUMAN_AGENT_NOTE =
  'only for messages written by a person, and only where Meta approved Human Agent for the sending app (which app that is over Vonage is UNCONFIRMED)';

const retired2020 = (replacement: string | undefined): TagRule => ({
  windowMs: null,
  retiredAt: TAGS_RETIRED_2020_AT,
  ...(replacement ? { replacement } : {}),
});

/**
 * The rules in force, with their dates; each row's source is in {@link MESSENGER_POLICY_SOURCES}.
 * The three update tags are retired on 2026-04-27, the date of Meta's changelog (error 100
 * from then). Pass `definePolicy({ tags: { ACCOUNT_UPDATE: { ... } } })` to choose otherwise.
 */
export const MESSENGER_POLICY: MessengerPolicy = Object.freeze({
  standardWindowMs: 24 * HOUR,
  adReferralWindowMs: 7 * DAY,
  safetyMarginMs: 60_000,
  tags: Object.freeze({
    HUMAN_AGENT: { windowMs: 7 * DAY, note: HUMAN_AGENT_NOTE },
    ACCOUNT_UPDATE: { windowMs: null, retiredAt: UPDATE_TAGS_RETIRED_AT, replacement: UTILITY },
    CONFIRMED_EVENT_UPDATE: { windowMs: null, retiredAt: UPDATE_TAGS_RETIRED_AT, replacement: UTILITY },
    POST_PURCHASE_UPDATE: { windowMs: null, retiredAt: UPDATE_TAGS_RETIRED_AT, replacement: UTILITY },
    // Replacements: Meta published the four surviving tags but, as far as we found, no
    // one-to-one table; these follow the one published mapping we could cite (Amio's
    // legacy-tag table, third party) and docs/rules.md marks them UNCONFIRMED. Tags it does
    // not map have no replacement, and the refusal says so.
    BUSINESS_PRODUCTIVITY: retired2020(undefined),
    COMMUNITY_ALERT: retired2020(undefined),
    CONFIRMED_EVENT_REMINDER: retired2020('CONFIRMED_EVENT_UPDATE'),
    NON_PROMOTIONAL_SUBSCRIPTION: retired2020('News Messaging (Pages in the News Page Index only)'),
    PAIRING_UPDATE: retired2020(undefined),
    APPLICATION_UPDATE: retired2020('ACCOUNT_UPDATE'),
    PAYMENT_UPDATE: retired2020('POST_PURCHASE_UPDATE'),
    PERSONAL_FINANCE_UPDATE: retired2020('ACCOUNT_UPDATE'),
    SHIPPING_UPDATE: retired2020('POST_PURCHASE_UPDATE'),
    RESERVATION_UPDATE: retired2020('POST_PURCHASE_UPDATE'),
    ISSUE_RESOLUTION: retired2020('ACCOUNT_UPDATE'),
    APPOINTMENT_UPDATE: retired2020('CONFIRMED_EVENT_UPDATE'),
    GAME_EVENT: retired2020(undefined),
    TRANSPORTATION_UPDATE: retired2020('CONFIRMED_EVENT_UPDATE'),
    FEATURE_FUNCTIONALITY_UPDATE: retired2020(undefined),
    TICKET_UPDATE: retired2020('CONFIRMED_EVENT_UPDATE'),
  } satisfies Record<KnownTag, TagRule>),
});

const META_SEND_A_MESSAGE =
  'https://developers.facebook.com/documentation/business-messaging/messenger-platform/send-messages';
const META_POLICY = 'https://developers.facebook.com/documentation/business-messaging/messenger-platform/policy/';
const META_SEND_API = 'https://developers.facebook.com/docs/messenger-platform/reference/send-api';
const META_CHANGELOG = 'https://developers.facebook.com/documentation/business-messaging/messenger-platform/changelog';
const META_2020 =
  'https://developers.facebook.com/blog/post/2020/03/04/reminder-community-new-messenger-platform-policy-changes/';
const AMIO = 'https://docs.amio.io/reference/facebook-messenger-messages-tags';

/**
 * Where each row of {@link MESSENGER_POLICY} comes from: one entry per row (`standardWindowMs`,
 * `adReferralWindowMs`, `safetyMarginMs`, `tags.<TAG>`). docs/rules.md's table is generated
 * from these and the policy (test/docs-tables.test.ts fails on drift).
 */
export const MESSENGER_POLICY_SOURCES: Readonly<Record<string, { source: string; note?: string }>> = Object.freeze({
  standardWindowMs: { source: `Meta, Send a Message: ${META_SEND_A_MESSAGE}` },
  adReferralWindowMs: {
    source: `Meta, Messenger Platform policy ("up to 7 days from that message"): ${META_POLICY}`,
    note: 'applied only to conversations recorded with messenger.recordAdReferral',
  },
  safetyMarginMs: { source: "this SDK's choice (clock skew), not a Meta rule" },
  'tags.HUMAN_AGENT': {
    source: `Meta, Send API reference: ${META_SEND_API}`,
    note: 'human-written messages only; who must be approved for it over Vonage is UNCONFIRMED',
  },
  ...Object.fromEntries(
    ['ACCOUNT_UPDATE', 'CONFIRMED_EVENT_UPDATE', 'POST_PURCHASE_UPDATE'].map((tag) => [
      `tags.${tag}`,
      {
        source: `Meta, Messenger Platform changelog, entry of 2026-03-27 ("error code 100" from 2026-04-27): ${META_CHANGELOG}`,
      },
    ]),
  ),
  ...Object.fromEntries(
    Object.entries({
      BUSINESS_PRODUCTIVITY: false,
      COMMUNITY_ALERT: false,
      CONFIRMED_EVENT_REMINDER: true,
      NON_PROMOTIONAL_SUBSCRIPTION: true,
      PAIRING_UPDATE: false,
      APPLICATION_UPDATE: true,
      PAYMENT_UPDATE: true,
      PERSONAL_FINANCE_UPDATE: true,
      SHIPPING_UPDATE: true,
      RESERVATION_UPDATE: true,
      ISSUE_RESOLUTION: true,
      APPOINTMENT_UPDATE: true,
      GAME_EVENT: false,
      TRANSPORTATION_UPDATE: true,
      FEATURE_FUNCTIONALITY_UPDATE: false,
      TICKET_UPDATE: true,
    }).map(([tag, mapped]) => [
      `tags.${tag}`,
      {
        source: `Meta, 2020-03-04 policy changes take effect: ${META_2020}`,
        ...(mapped ? { note: `replacement from a third-party mapping (Amio, UNCONFIRMED): ${AMIO}` } : {}),
      },
    ]),
  ),
});

/**
 * Partial overrides for {@link definePolicy}; a tag set to `null` is removed.
 */
export interface PolicyOverrides {
  /** Replaces the 24 h standard window (milliseconds, > 0). */
  standardWindowMs?: number | undefined;
  /** Replaces the 7-day Click-to-Messenger ad window (milliseconds, > 0). */
  adReferralWindowMs?: number | undefined;
  /** Replaces the early-close margin (milliseconds, >= 0). */
  safetyMarginMs?: number | undefined;
  /** Per tag: fields merged into its rule, or `null` to remove the tag. */
  tags?: Record<string, Partial<TagRule> | null> | undefined;
}

/**
 * A policy based on `base` (default {@link MESSENGER_POLICY}) with some rules changed.
 *
 * @example
 * ```ts
 * // Refuse ACCOUNT_UPDATE from an earlier date of your choosing.
 * const policy = definePolicy({ tags: { ACCOUNT_UPDATE: { retiredAt: new Date('2026-01-12') } } })
 * const messenger = createMessenger({ applicationId, privateKey, signatureSecret, policy })
 * ```
 */
export function definePolicy(overrides: PolicyOverrides, base: MessengerPolicy = MESSENGER_POLICY): MessengerPolicy {
  const tags: Record<string, TagRule> = { ...base.tags };
  for (const [name, rule] of Object.entries(overrides.tags ?? {})) {
    if (rule === null) delete tags[name];
    else {
      const merged = { ...(Object.hasOwn(tags, name) ? tags[name] : { windowMs: null }), ...rule } as TagRule;
      // defineProperty, not `tags[name] =`: a tag named "__proto__" must become a tag, not a prototype.
      Object.defineProperty(tags, name, { value: merged, enumerable: true, configurable: true, writable: true });
    }
  }
  const policy: MessengerPolicy = {
    standardWindowMs: overrides.standardWindowMs ?? base.standardWindowMs,
    adReferralWindowMs: overrides.adReferralWindowMs ?? adReferralWindowOf(base),
    safetyMarginMs: overrides.safetyMarginMs ?? base.safetyMarginMs,
    tags: Object.freeze(tags),
  };
  assertValidPolicy(policy);
  return Object.freeze(policy);
}

/**
 * A NaN or negative duration would make every comparison false and so allow every send;
 * a typo in an override must fail loudly instead.
 */
function assertValidPolicy(policy: MessengerPolicy): void {
  const issues: { path: string; message: string }[] = [];
  const checkDuration = (path: string, value: unknown, allowZero: boolean) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
      issues.push({ path, message: `must be a finite number of milliseconds ${allowZero ? '>= 0' : '> 0'}` });
    }
  };
  checkDuration('standardWindowMs', policy.standardWindowMs, false);
  checkDuration('safetyMarginMs', policy.safetyMarginMs, true);
  checkDuration('adReferralWindowMs', adReferralWindowOf(policy), false);
  for (const [name, rule] of Object.entries(policy.tags)) {
    if (rule.windowMs !== null) checkDuration(`tags.${name}.windowMs`, rule.windowMs, false);
    if (
      rule.retiredAt !== undefined &&
      !(rule.retiredAt instanceof Date && Number.isFinite(rule.retiredAt.getTime()))
    ) {
      issues.push({ path: `tags.${name}.retiredAt`, message: 'must be a valid Date' });
    }
  }
  if (issues.length > 0) {
    throw new ValidationError(`Invalid policy: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues);
  }
}

/** What the caller wants to send: a category and, for `message_tag`, a tag. */
export interface SendIntent {
  /** Defaults to `message_tag` when `tag` is set, `response` otherwise. */
  category?: MessagingCategory | undefined;
  /** The message tag, e.g. `HUMAN_AGENT`; unknown and retired tags are refused. */
  tag?: string | undefined;
}

/** The verdict on a send. A decision object rather than an exception (see `canSend`). */
export type SendDecision =
  | {
      /** The send may go now. */
      allowed: true;
      /** The category to send with (resolved from the intent). */
      category: MessagingCategory;
      /**
       * Which window allows it: `standard` (24 h after the user's last message), `ad_referral`
       * (7 days after a message from a Click-to-Messenger ad, when that ends later) or `tag`.
       */
      window: SendWindow;
      /** The tag to send with, if the intent had one. */
      tag?: string;
      /** The instant from which this kind of send is refused. */
      expiresAt: Date;
    }
  | {
      /** The send would break the rules; nothing may go. */
      allowed: false;
      /** Which rule refuses it. */
      reason: WindowClosedReason;
      /** A sentence that says why and what is still allowed. */
      message: string;
      /** When the window this send needed closed, if it was ever open. */
      expiredAt?: Date;
      /** Sends still allowed for this conversation at `now`. */
      alternatives: SendAlternative[];
    };

export type { SendWindow } from './vocabulary.js';

/**
 * What `evaluateSend` knows about the Page beyond the conversation.
 */
export interface PageRules {
  /** Tags the platform refused for this Page (1021): neither allowed nor offered. */
  readonly unavailableTags?: readonly string[];
}

/** The 7-day Click-to-Messenger window of a policy (7 days for a hand-built policy without one). */
function adReferralWindowOf(policy: MessengerPolicy): number {
  return policy.adReferralWindowMs ?? 7 * DAY;
}

/** The largest instant a `Date` can hold: stands for "no limit". */
const MAX_DATE_MS = 8.64e15;

/**
 * The rule for `tag`, own properties only: `policy.tags['constructor']` would otherwise find
 * `Object.prototype.constructor`, whose missing `windowMs` made every comparison false and
 * so allowed the send.
 */
function ruleFor(policy: MessengerPolicy, tag: string): TagRule | undefined {
  return Object.hasOwn(policy.tags, tag) ? policy.tags[tag] : undefined;
}

/** "24 hours", "7 days", "90 minutes": for messages about a policy a user may have changed. */
function duration(ms: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (ms % DAY === 0 && ms > 2 * DAY) return plural(ms / DAY, 'day');
  if (ms % HOUR === 0) return plural(ms / HOUR, 'hour');
  if (ms % 60_000 === 0) return plural(ms / 60_000, 'minute');
  return plural(ms, 'millisecond');
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The instant the window that `windowMs` opens closes, margin included. */
function closesAt(from: number, windowMs: number | null, policy: MessengerPolicy): number {
  return windowMs === null ? Number.POSITIVE_INFINITY : from + windowMs - policy.safetyMarginMs;
}

/**
 * When `response`/`update` stop being allowed: 24 h after the user's last message, or 7 days
 * after a message from a Click-to-Messenger ad when that ends later. Later messages never
 * move the ad's end: Meta counts its 7 days from the message sent from the ad.
 */
function untaggedWindow(state: ConversationState, policy: MessengerPolicy): { end: number; window: SendWindow } {
  const standard = closesAt(state.lastInboundAt, policy.standardWindowMs, policy);
  if (state.adReferralAt === undefined) return { end: standard, window: 'standard' };
  const ad = closesAt(state.adReferralAt, adReferralWindowOf(policy), policy);
  return ad > standard ? { end: ad, window: 'ad_referral' } : { end: standard, window: 'standard' };
}

/**
 * How long after the user's last message each window of `CLOSING_WINDOWS` closes, margin
 * included, under the rules in force at `now`: a conversation's window closes at
 * `lastInboundAt + span`. A window the policy lacks at `now` (HUMAN_AGENT removed, without a
 * limit, or retired) is absent. `messenger.expiringSoon` scans `lastInboundAt` by these spans.
 *
 * @example
 * ```ts
 * closingWindowSpans(MESSENGER_POLICY, Date.now()) // { standard: 86_340_000, human_agent: 604_740_000 }
 * ```
 */
export function closingWindowSpans(policy: MessengerPolicy, now: number): Partial<Record<ClosingWindow, number>> {
  // A span is the end of a window opened at instant 0.
  const spans: Partial<Record<ClosingWindow, number>> = { standard: closesAt(0, policy.standardWindowMs, policy) };
  const rule = ruleFor(policy, 'HUMAN_AGENT');
  if (rule !== undefined && rule.windowMs !== null && !(rule.retiredAt && rule.retiredAt.getTime() <= now)) {
    spans.human_agent = closesAt(0, rule.windowMs, policy);
  }
  return spans;
}

/**
 * When each window of `CLOSING_WINDOWS` of this conversation closes (epoch ms, margin
 * included), under the rules in force at `now`, as `evaluateSend` judges it. No `standard`
 * once the platform closed the conversation, or while a Click-to-Messenger ad keeps replies
 * allowed longer (replies do not stop then); none at all for a user the platform reported
 * unreachable; `human_agent` no later than a scheduled retirement of the tag.
 *
 * @example
 * ```ts
 * const ends = closingWindowEnds({ lastInboundAt: Date.now(), lastInboundUuid: 'm1' }, MESSENGER_POLICY, Date.now())
 * if (ends.standard !== undefined) console.log('replies allowed until', new Date(ends.standard))
 * ```
 */
export function closingWindowEnds(
  state: ConversationState,
  policy: MessengerPolicy,
  now: number,
): Partial<Record<ClosingWindow, number>> {
  const closed = isClosed(state);
  if (closed && state.closedReason === 'user_unavailable') return {};
  const spans = closingWindowSpans(policy, now);
  const out: Partial<Record<ClosingWindow, number>> = {};
  if (!closed && spans.standard !== undefined && untaggedWindow(state, policy).window === 'standard') {
    out.standard = state.lastInboundAt + spans.standard;
  }
  if (spans.human_agent !== undefined) {
    const retiredAt = ruleFor(policy, 'HUMAN_AGENT')?.retiredAt?.getTime() ?? Number.POSITIVE_INFINITY;
    out.human_agent = Math.min(state.lastInboundAt + spans.human_agent, retiredAt);
  }
  return out;
}

/** Sends allowed at `now`, best first: the standard window, then tags that still work. */
function allowedSends(
  state: ConversationState,
  now: number,
  policy: MessengerPolicy,
  unavailable: readonly string[],
): SendAlternative[] {
  if (isClosed(state) && state.closedReason === 'user_unavailable') return [];
  const out: SendAlternative[] = [];
  const standardEnd = untaggedWindow(state, policy).end;
  if (!isClosed(state) && now < standardEnd) {
    out.push({ category: 'response', until: new Date(standardEnd) });
    out.push({ category: 'update', until: new Date(standardEnd) });
  }
  for (const [tag, rule] of Object.entries(policy.tags)) {
    if (unavailable.includes(tag)) continue;
    const end = Math.min(closesAt(state.lastInboundAt, rule.windowMs, policy), rule.retiredAt?.getTime() ?? Infinity);
    // A tag without limit is offered too (until the largest Date), as evaluateSend allows it.
    if (now < end) {
      out.push({
        category: 'message_tag',
        tag,
        until: new Date(Math.min(end, MAX_DATE_MS)),
        ...(rule.note ? { note: rule.note } : {}),
      });
    }
  }
  return out;
}

function isClosed(state: ConversationState): boolean {
  return state.closedAt !== undefined && state.closedAt >= state.lastInboundAt;
}

function describeAlternatives(alternatives: readonly SendAlternative[]): string {
  const tagged = alternatives.filter((a) => a.category === 'message_tag');
  if (alternatives.some((a) => a.category === 'response')) {
    const until = alternatives.find((a) => a.category === 'response')?.until;
    return ` A reply without a tag is allowed until ${until?.toISOString()}.`;
  }
  if (tagged.length === 0) return ' Nothing can be sent until the user writes again.';
  return ` Still allowed: ${tagged
    .map((a) => `${a.tag} until ${a.until.toISOString()}${a.note ? ` (${a.note})` : ''}`)
    .join('; ')}.`;
}

function refuse(
  reason: WindowClosedReason,
  why: string,
  alternatives: SendAlternative[],
  expiredAt?: number,
): SendDecision {
  return {
    allowed: false,
    reason,
    message: why + describeAlternatives(alternatives),
    ...(expiredAt !== undefined && Number.isFinite(expiredAt) ? { expiredAt: new Date(expiredAt) } : {}),
    alternatives,
  };
}

function retirementText(tag: string, rule: TagRule, policy: MessengerPolicy, now: number): string {
  let text = `Meta retired the tag ${tag} on ${rule.retiredAt?.toISOString().slice(0, 10)}`;
  let replacement = rule.replacement;
  if (replacement === undefined) text += '; Meta named no replacement tag';
  const seen = new Set([tag]);
  while (replacement) {
    text += `; its replacement is ${replacement}`;
    const next = ruleFor(policy, replacement);
    if (!next?.retiredAt || next.retiredAt.getTime() > now || seen.has(replacement)) break;
    seen.add(replacement);
    text += `, itself retired on ${next.retiredAt.toISOString().slice(0, 10)}`;
    replacement = next.replacement;
  }
  return `${text}.`;
}

const STATE_TIMES = ['lastInboundAt', 'lastOutboundAt', 'closedAt', 'adReferralAt'] as const;

/**
 * A state's times are epoch-ms numbers. A `Date` (a `recordInbound` snapshot passed back) or a
 * string would compare false against every limit, and so allow every send.
 */
function checkStateTimes(state: ConversationState): void {
  for (const field of STATE_TIMES) {
    const value: unknown = state[field];
    const optional = field !== 'lastInboundAt' && (value === undefined || value === null);
    if (!optional && !(typeof value === 'number' && Number.isFinite(value))) {
      throw new ValidationError(
        `evaluateSend needs the conversation as the store holds it: ${field} must be epoch ms, got ${value instanceof Date ? 'a Date (a snapshot?)' : String(value)}`,
        [{ path: `state.${field}`, message: 'must be a finite epoch-ms number' }],
      );
    }
  }
}

/**
 * The category a send asks for: the one given, else `message_tag` with a tag, else `response`.
 *
 * @example
 * ```ts
 * intentCategory({ tag: 'HUMAN_AGENT' }) // 'message_tag'
 * ```
 */
export function intentCategory(intent: SendIntent): MessagingCategory {
  return intent.category ?? (intent.tag === undefined ? 'response' : 'message_tag');
}

/**
 * Judges a send against the rules in force at `now`. Pure: no I/O, no clock.
 *
 * @param state - the conversation as the store holds it, or `null` if the user never wrote.
 * @param intent - the category and tag of the send.
 * @param now - the current time (epoch ms or `Date`).
 * @param policy - the rules (default {@link MESSENGER_POLICY}).
 *
 * @example
 * ```ts
 * const decision = evaluateSend(await store.get(conversationKey(page, user)), { tag: 'HUMAN_AGENT' }, Date.now())
 * if (!decision.allowed) console.log(decision.reason, decision.alternatives)
 * ```
 */
export function evaluateSend(
  state: ConversationState | null,
  intent: SendIntent,
  now: number | Date,
  policy: MessengerPolicy = MESSENGER_POLICY,
  page: PageRules = {},
): SendDecision {
  const at = typeof now === 'number' ? now : isDate(now) ? now.getTime() : Number.NaN;
  // An Invalid Date would make every comparison false, and so allow every send.
  if (!Number.isFinite(at)) {
    throw new ValidationError(`evaluateSend needs a valid time as "now", got ${String(now)}`, [
      { path: 'now', message: 'must be a finite epoch-ms number or a valid Date' },
    ]);
  }
  const category = intentCategory(intent);
  if (state !== null) checkStateTimes(state);

  if (state === null) {
    return refuse(
      'no_conversation',
      'No message from this user to this Page is on record (the user never wrote, or the store forgot the conversation after its TTL), so the Page may not message them: Messenger requires the user to write first.',
      [],
    );
  }
  const unavailable = page.unavailableTags ?? [];
  // Only a refusal lists what is still allowed: an allowed send (the common case) skips the
  // walk over every tag rule and its Dates.
  const alternatives = () => allowedSends(state, at, policy, unavailable);

  if (isClosed(state) && state.closedReason === 'user_unavailable') {
    return refuse(
      'user_unavailable',
      `Vonage reported on ${iso(state.closedAt as number)} that this user cannot receive messages from this Page.`,
      [],
      state.closedAt,
    );
  }

  // Plain JavaScript callers can pass any string; an unknown category must not fall through
  // to the `response` rules and be allowed.
  if (!(MESSAGING_CATEGORIES as readonly string[]).includes(category)) {
    return refuse(
      'unknown_tag',
      `"${String(category)}" is not a Messenger category (use "response", "update" or "message_tag").`,
      alternatives(),
    );
  }

  if (category !== 'message_tag') {
    if (intent.tag !== undefined) {
      return refuse('unknown_tag', `A tag needs category "message_tag", not "${category}".`, alternatives());
    }
    const { end, window } = untaggedWindow(state, policy);
    if (isClosed(state)) {
      return refuse(
        'closed_by_platform',
        `Vonage refused a send to this user on ${iso(state.closedAt as number)} as outside the messaging window.`,
        alternatives(),
        state.closedAt,
      );
    }
    if (at >= end) {
      return refuse(
        'window_closed',
        window === 'ad_referral'
          ? `The Click-to-Messenger ad window (${duration(adReferralWindowOf(policy))} after the message from the ad at ${iso(state.adReferralAt as number)}) closed at ${iso(end)}.`
          : `The standard messaging window (${duration(policy.standardWindowMs)}) closed at ${iso(end)} (the user last wrote at ${iso(state.lastInboundAt)}).`,
        alternatives(),
        end,
      );
    }
    return { allowed: true, category, window, expiresAt: new Date(end) };
  }

  const tag = intent.tag;
  const rule = tag === undefined ? undefined : ruleFor(policy, tag);
  if (tag === undefined || rule === undefined) {
    return refuse(
      'unknown_tag',
      tag === undefined
        ? 'Category "message_tag" needs a tag.'
        : `${tag} is not a Messenger message tag this SDK knows (known: ${Object.keys(policy.tags)
            .filter((name) => !policy.tags[name]?.retiredAt || (policy.tags[name]?.retiredAt?.getTime() ?? 0) > at)
            .join(', ')}).`,
      alternatives(),
    );
  }
  if (rule.retiredAt && at >= rule.retiredAt.getTime()) {
    return refuse('retired_tag', retirementText(tag, rule, policy, at), alternatives(), rule.retiredAt.getTime());
  }
  if (unavailable.includes(tag)) {
    return refuse(
      'tag_unavailable',
      `Vonage refused ${tag} for this Page (error 1021, invalid tag), so it is not sent again. Once the Page may use it, call messenger.markTagAvailable(pageId, '${tag}').`,
      alternatives(),
    );
  }
  const end = Math.min(closesAt(state.lastInboundAt, rule.windowMs, policy), rule.retiredAt?.getTime() ?? Infinity);
  if (at >= end) {
    return refuse(
      'tag_window_closed',
      `The ${tag} tag may be used until ${iso(end)}, ${rule.windowMs === null ? '' : `${duration(rule.windowMs)} after `}the user's last message at ${iso(state.lastInboundAt)}.`,
      alternatives(),
      end,
    );
  }
  return { allowed: true, category, window: 'tag', tag, expiresAt: new Date(Math.min(end, MAX_DATE_MS)) };
}
