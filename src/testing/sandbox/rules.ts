/**
 * The platform's rules as the sandbox plays them: a second implementation, written from
 * Meta's and Vonage's pages rather than from the SDK's `src/policy.ts`, so that a mistake in
 * the SDK's rules shows up as a disagreement instead of passing every sandbox test
 * (test/testing/sandbox-differential.test.ts compares the two; test/testing/sandbox-rules.test.ts
 * checks that nothing here imports the SDK's policy).
 *
 * Sources (the same ones docs/rules.md cites):
 * - 24 h standard window, the user writes first: Meta, Send a Message,
 *   https://developers.facebook.com/documentation/business-messaging/messenger-platform/send-messages
 * - up to 7 days from the message sent from a Click-to-Messenger ad: Meta, Messenger Platform
 *   policy, https://developers.facebook.com/documentation/business-messaging/messenger-platform/policy/
 * - HUMAN_AGENT within 7 days of the user's message; the three update tags refused from
 *   2026-04-27 (error 100): Meta, Send API reference and changelog (2026-03-27 entry),
 *   https://developers.facebook.com/docs/messenger-platform/reference/send-api
 * - 16 tags retired on 2020-03-04: Meta, https://developers.facebook.com/blog/post/2020/03/04/reminder-community-new-messenger-platform-policy-changes/
 * - Vonage's codes 1340 (outside the window), 1370 (expired Page token), 1420 (invalid
 *   sender), 1430 (invalid recipient), 1021 (invalid tag): Messages API spec v1.20 `x-errors`.
 *
 * The sandbox's own choices, where no source says what the platform answers (UNCONFIRMED):
 * 1430 for a PSID that never wrote to the Page; 1021 for a retired or unknown tag, for a tag
 * sent without category `message_tag`, and for HUMAN_AGENT when the app is not approved (Meta
 * itself answers error 100 for a retired tag); a platform refusal (1340, 1430) lasts until the
 * user writes at a later millisecond than the latest refusal of a send to that thread.
 *
 * @module
 */
import type { MessengerPolicy } from '../../policy.js';
import type { MessagesErrorCode } from './codes.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * One message tag as the platform treats it.
 *
 * @example
 * ```ts
 * const humanAgent: PlatformTag = { windowMs: 7 * 24 * 3_600_000 }
 * ```
 */
export interface PlatformTag {
  /** How long after the user's last message the tag is accepted; `null`: no limit. */
  readonly windowMs: number | null;
  /** From this instant (epoch ms) the platform refuses the tag. */
  readonly refusedFrom?: number;
}

/**
 * The rules the sandbox's platform applies.
 */
export interface PlatformRules {
  /** Untagged sends (`response`, `update`) after the user's last message. */
  readonly standardWindowMs: number;
  /** Untagged sends after a message that came from a Click-to-Messenger ad. */
  readonly adReferralWindowMs: number;
  /** Every tag the platform knows; any other tag is refused. */
  readonly tags: Readonly<Record<string, PlatformTag>>;
}

const RETIRED_2020 = [
  'BUSINESS_PRODUCTIVITY',
  'COMMUNITY_ALERT',
  'CONFIRMED_EVENT_REMINDER',
  'NON_PROMOTIONAL_SUBSCRIPTION',
  'PAIRING_UPDATE',
  'APPLICATION_UPDATE',
  'PAYMENT_UPDATE',
  'PERSONAL_FINANCE_UPDATE',
  'SHIPPING_UPDATE',
  'RESERVATION_UPDATE',
  'ISSUE_RESOLUTION',
  'APPOINTMENT_UPDATE',
  'GAME_EVENT',
  'TRANSPORTATION_UPDATE',
  'FEATURE_FUNCTIONALITY_UPDATE',
  'TICKET_UPDATE',
];

/** 2020-03-04T00:00:00Z: Meta enforced the cut from 17 tags to 4. */
const TAGS_CUT_2020 = Date.UTC(2020, 2, 4);
/** 2026-04-27T00:00:00Z: "all API requests containing" the three update tags get error 100. */
const UPDATE_TAGS_CUT_2026 = Date.UTC(2026, 3, 27);

/**
 * The platform's rules as of 2026-12 (sources in this module's header).
 *
 * @example
 * ```ts
 * PLATFORM_RULES.tags.HUMAN_AGENT?.windowMs // 604_800_000
 * ```
 */
export const PLATFORM_RULES: PlatformRules = Object.freeze({
  standardWindowMs: 24 * HOUR,
  adReferralWindowMs: 7 * DAY,
  // Each tag frozen too: the table is shared by every sandbox in the process, so one test
  // writing `PLATFORM_RULES.tags.HUMAN_AGENT.windowMs` would change the rules of all the others.
  tags: Object.freeze({
    HUMAN_AGENT: Object.freeze({ windowMs: 7 * DAY }),
    ACCOUNT_UPDATE: Object.freeze({ windowMs: null, refusedFrom: UPDATE_TAGS_CUT_2026 }),
    CONFIRMED_EVENT_UPDATE: Object.freeze({ windowMs: null, refusedFrom: UPDATE_TAGS_CUT_2026 }),
    POST_PURCHASE_UPDATE: Object.freeze({ windowMs: null, refusedFrom: UPDATE_TAGS_CUT_2026 }),
    ...Object.fromEntries(
      RETIRED_2020.map((tag) => [tag, Object.freeze({ windowMs: null, refusedFrom: TAGS_CUT_2020 })]),
    ),
  }),
});

/**
 * Platform rules from an SDK policy object (the sandbox's `policy` option), for tests that
 * change the rules on both sides. Only the data is read; the evaluation stays the sandbox's.
 *
 * @example
 * ```ts
 * const rules = platformRulesFrom(definePolicy({ standardWindowMs: 60 * 60 * 1000 }))
 * ```
 */
export function platformRulesFrom(policy: MessengerPolicy): PlatformRules {
  const tags: Record<string, PlatformTag> = {};
  for (const [name, rule] of Object.entries(policy.tags)) {
    const tag: PlatformTag = {
      windowMs: rule.windowMs,
      ...(rule.retiredAt ? { refusedFrom: rule.retiredAt.getTime() } : {}),
    };
    Object.defineProperty(tags, name, { value: tag, enumerable: true, configurable: true, writable: true });
  }
  return {
    standardWindowMs: policy.standardWindowMs,
    adReferralWindowMs: policy.adReferralWindowMs ?? PLATFORM_RULES.adReferralWindowMs,
    tags,
  };
}

/**
 * What the platform knows about one (Page, user) thread.
 *
 * @example
 * ```ts
 * const thread: PlatformThread = { userWroteAt: Date.now() }
 * ```
 */
export interface PlatformThread {
  /** The user's latest message. */
  userWroteAt: number;
  /** The user's latest message that came from a Click-to-Messenger ad. */
  adMessageAt?: number;
  /** The platform refused this thread for the window (1340) at this instant. */
  windowRefusedAt?: number;
  /** The platform found the user unreachable (1430) at this instant. */
  unreachableAt?: number;
}

/**
 * The send being judged.
 *
 * @example
 * ```ts
 * const send: PlatformSend = { category: 'message_tag', tag: 'HUMAN_AGENT' }
 * ```
 */
export interface PlatformSend {
  category: string;
  tag?: string | undefined;
}

/**
 * The Page-level facts a verdict needs.
 *
 * @example
 * ```ts
 * const page: PlatformPage = { linked: true, declared: true, humanAgentApproved: false }
 * ```
 */
export interface PlatformPage {
  /** Linked Pages only: `false` answers 1420 (never linked) … */
  declared: boolean;
  /** … and this `false` answers 1370 (the link expired). */
  linked: boolean;
  /** Whether Meta accepts HUMAN_AGENT from this Page's app. */
  humanAgentApproved: boolean;
}

/**
 * The platform's answer: delivered, or refused with a Vonage code.
 */
export type PlatformVerdict = { delivered: true } | { delivered: false; code: MessagesErrorCode };

const refused = (code: MessagesErrorCode): PlatformVerdict => ({ delivered: false, code });

/** True while a refusal at `at` still holds: until the user writes at a later millisecond. */
const stillRefused = (at: number | undefined, thread: PlatformThread): boolean =>
  at !== undefined && at >= thread.userWroteAt;

/**
 * Judges one send by the platform's rules at `now` (epoch ms). Pure.
 *
 * @example
 * ```ts
 * const now = Date.now()
 * const platformPage: PlatformPage = { declared: true, linked: true, humanAgentApproved: true }
 * platformVerdict(PLATFORM_RULES, platformPage, { userWroteAt: now - 25 * 3_600_000 }, { category: 'response' }, now)
 * // { delivered: false, code: 1340 }
 * ```
 */
export function platformVerdict(
  rules: PlatformRules,
  page: PlatformPage,
  thread: PlatformThread | undefined,
  send: PlatformSend,
  now: number,
): PlatformVerdict {
  if (!page.declared) return refused(1420);
  if (!page.linked) return refused(1370);
  if (thread === undefined) return refused(1430);
  if (stillRefused(thread.unreachableAt, thread)) return refused(1430);

  if (send.category === 'message_tag') {
    const tag = send.tag === undefined || !Object.hasOwn(rules.tags, send.tag) ? undefined : rules.tags[send.tag];
    if (tag === undefined) return refused(1021);
    if (tag.refusedFrom !== undefined && now >= tag.refusedFrom) return refused(1021);
    if (send.tag === 'HUMAN_AGENT' && !page.humanAgentApproved) return refused(1021);
    if (tag.windowMs !== null && now >= thread.userWroteAt + tag.windowMs) return refused(1340);
    return { delivered: true };
  }
  if (send.tag !== undefined) return refused(1021);
  if (send.category !== 'response' && send.category !== 'update') return refused(1021);
  if (stillRefused(thread.windowRefusedAt, thread)) return refused(1340);
  const fromLastMessage = thread.userWroteAt + rules.standardWindowMs;
  const fromAd = thread.adMessageAt === undefined ? -Infinity : thread.adMessageAt + rules.adReferralWindowMs;
  return now < Math.max(fromLastMessage, fromAd) ? { delivered: true } : refused(1340);
}
