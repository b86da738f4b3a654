import { describe, expect, it } from 'vitest';
import { ValidationError } from '../src/errors.js';
import {
  definePolicy,
  evaluateSend,
  MESSENGER_POLICY,
  type RetiredIn2020Tag,
  type SendDecision,
  type SendIntent,
  TAGS_RETIRED_2020_AT,
  UPDATE_TAGS_RETIRED_AT,
} from '../src/policy.js';
import type { ConversationState } from '../src/store/types.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const MARGIN = 60_000;

/** Before Meta retired the three update tags (2026-04-27). */
const MARCH_2026 = Date.parse('2026-03-02T09:30:00.000Z');
/** After it. */
const JUNE_2026 = Date.parse('2026-06-01T09:30:00.000Z');

const state = (lastInboundAt: number, extra: Partial<ConversationState> = {}): ConversationState => ({
  lastInboundAt,
  lastInboundUuid: 'aaaaaaaa-0000-4000-8000-000000000001',
  ...extra,
});

function refused(decision: SendDecision) {
  if (decision.allowed) throw new Error(`expected a refusal, got ${JSON.stringify(decision)}`);
  return decision;
}
function allowed(decision: SendDecision) {
  if (!decision.allowed) throw new Error(`expected an allowed send, got ${decision.reason}: ${decision.message}`);
  return decision;
}
const iso = (ms: number) => new Date(ms).toISOString();
const summary = (decision: SendDecision) =>
  refused(decision).alternatives.map((a) => `${a.category}${a.tag ? `:${a.tag}` : ''} < ${a.until.toISOString()}`);

describe('the standard messaging window (response, update)', () => {
  const last = JUNE_2026;
  const closes = last + DAY - MARGIN;

  it.each(['response', 'update'] as const)('allows %s right after the user writes', (category) => {
    const decision = allowed(evaluateSend(state(last), { category }, last));
    expect(decision.category).toBe(category);
    expect(decision.expiresAt).toEqual(new Date(closes));
  });

  it.each(['response', 'update'] as const)('allows %s 1 ms before 24 h minus the 60 s safety margin', (category) => {
    expect(evaluateSend(state(last), { category }, closes - 1).allowed).toBe(true);
  });

  it.each(['response', 'update'] as const)(
    'refuses %s from exactly 24 h minus the margin, with window_closed and when it closed',
    (category) => {
      for (const at of [closes, closes + 1, last + DAY, last + 30 * DAY]) {
        const decision = refused(evaluateSend(state(last), { category }, at));
        expect(decision.reason).toBe('window_closed');
        expect(decision.expiredAt).toEqual(new Date(closes));
        expect(decision.message).toContain(`closed at ${iso(closes)}`);
        expect(decision.message).toContain(`last wrote at ${iso(last)}`);
      }
    },
  );

  it('sends as a response when neither category nor tag is given', () => {
    expect(allowed(evaluateSend(state(last), {}, last + HOUR)).category).toBe('response');
  });

  it('accepts now as a Date as well as epoch ms, with the same verdict', () => {
    expect(evaluateSend(state(last), {}, new Date(closes - 1))).toEqual(evaluateSend(state(last), {}, closes - 1));
    expect(evaluateSend(state(last), {}, new Date(closes))).toEqual(evaluateSend(state(last), {}, closes));
  });

  it('refuses to judge an invalid time instead of allowing the send', () => {
    expect(() => evaluateSend(state(last), {}, new Date('not a date'))).toThrow(ValidationError);
    expect(() => evaluateSend(state(last), {}, Number.NaN)).toThrow(ValidationError);
    // Plain JavaScript: a date string is neither a number nor a Date.
    expect(() => evaluateSend(state(last), {}, '2026-06-01' as unknown as number)).toThrow(ValidationError);
  });

  it('refuses a state whose times are not epoch ms (a snapshot with Dates, a string, NaN) instead of allowing', () => {
    const later = last + 30 * DAY;
    const malformed = [
      { lastInboundAt: new Date(last) },
      { lastInboundAt: String(last) },
      { lastInboundAt: Number.NaN },
      { closedAt: new Date(last + HOUR), closedReason: 'closed_by_platform' },
      { adReferralAt: new Date(last) },
      { lastOutboundAt: 'yesterday' },
    ];
    for (const fields of malformed) {
      const bad = { ...state(last), ...fields } as unknown as ConversationState;
      expect(() => evaluateSend(bad, {}, later)).toThrow(ValidationError);
    }
    // Absent optional times may come as null from a store written in plain JavaScript.
    const nulls = { ...state(last), closedAt: null, adReferralAt: null } as unknown as ConversationState;
    expect(refused(evaluateSend(nulls, {}, later)).reason).toBe('window_closed');
  });

  it('counts from the user message time, so a send from the Page never extends it', () => {
    const withOutbound = state(last, { lastOutboundAt: last + 20 * HOUR });
    expect(refused(evaluateSend(withOutbound, {}, closes)).reason).toBe('window_closed');
  });
});

describe('HUMAN_AGENT (7 days)', () => {
  const last = JUNE_2026;
  const closes = last + 7 * DAY - MARGIN;

  it('is allowed outside the 24-hour window, as a message_tag send', () => {
    const decision = allowed(evaluateSend(state(last), { tag: 'HUMAN_AGENT' }, last + 3 * DAY));
    expect(decision).toEqual({
      allowed: true,
      category: 'message_tag',
      window: 'tag',
      tag: 'HUMAN_AGENT',
      expiresAt: new Date(closes),
    });
  });

  it('is allowed 1 ms before 7 days minus the margin', () => {
    expect(evaluateSend(state(last), { tag: 'HUMAN_AGENT' }, closes - 1).allowed).toBe(true);
  });

  it('is refused from exactly 7 days minus the margin, with tag_window_closed', () => {
    const decision = refused(evaluateSend(state(last), { category: 'message_tag', tag: 'HUMAN_AGENT' }, closes));
    expect(decision.reason).toBe('tag_window_closed');
    expect(decision.expiredAt).toEqual(new Date(closes));
    expect(decision.message).toContain('7 days after');
    expect(decision.alternatives).toEqual([]);
    expect(decision.message).toContain('Nothing can be sent until the user writes again.');
  });
});

describe('the safety margin (definePolicy)', () => {
  const last = JUNE_2026;

  it('defaults to 60 seconds', () => {
    expect(MESSENGER_POLICY.safetyMarginMs).toBe(60_000);
    expect(MESSENGER_POLICY.standardWindowMs).toBe(DAY);
  });

  it('with a margin of 0 the window is exactly 24 h and 7 days', () => {
    const policy = definePolicy({ safetyMarginMs: 0 });
    expect(evaluateSend(state(last), {}, last + DAY - 1, policy).allowed).toBe(true);
    expect(refused(evaluateSend(state(last), {}, last + DAY, policy)).expiredAt).toEqual(new Date(last + DAY));
    expect(evaluateSend(state(last), { tag: 'HUMAN_AGENT' }, last + 7 * DAY - 1, policy).allowed).toBe(true);
    expect(evaluateSend(state(last), { tag: 'HUMAN_AGENT' }, last + 7 * DAY, policy).allowed).toBe(false);
  });

  it('a large margin closes every window that much earlier', () => {
    const policy = definePolicy({ safetyMarginMs: 2 * HOUR });
    expect(evaluateSend(state(last), {}, last + 22 * HOUR - 1, policy).allowed).toBe(true);
    expect(refused(evaluateSend(state(last), {}, last + 22 * HOUR, policy)).reason).toBe('window_closed');
    expect(evaluateSend(state(last), { tag: 'HUMAN_AGENT' }, last + 7 * DAY - 2 * HOUR, policy).allowed).toBe(false);
  });

  it('a margin longer than the window allows no untagged send at all', () => {
    const policy = definePolicy({ safetyMarginMs: 25 * HOUR });
    expect(refused(evaluateSend(state(last), {}, last, policy)).reason).toBe('window_closed');
  });

  it('a custom window length is named in the refusal', () => {
    const policy = definePolicy({ standardWindowMs: 48 * HOUR });
    const decision = refused(evaluateSend(state(last), {}, last + 48 * HOUR, policy));
    expect(decision.message).toContain('standard messaging window (48 hours) closed at');
    expect(refused(evaluateSend(state(last), {}, last + DAY)).message).toContain('(24 hours)');
  });

  it.each([
    ['a negative margin', { safetyMarginMs: -1 }],
    ['a NaN margin', { safetyMarginMs: Number.NaN }],
    ['an infinite window', { standardWindowMs: Number.POSITIVE_INFINITY }],
    ['a zero window', { standardWindowMs: 0 }],
    ['a NaN tag window', { tags: { HUMAN_AGENT: { windowMs: Number.NaN } } }],
    ['an invalid retirement date', { tags: { ACCOUNT_UPDATE: { retiredAt: new Date('nope') } } }],
  ])('refuses %s (it would allow every send)', (_what, overrides) => {
    expect(() => definePolicy(overrides)).toThrow(ValidationError);
  });

  it('leaves MESSENGER_POLICY untouched and frozen', () => {
    definePolicy({ safetyMarginMs: 0, tags: { HUMAN_AGENT: null } });
    expect(MESSENGER_POLICY.safetyMarginMs).toBe(60_000);
    expect(MESSENGER_POLICY.tags.HUMAN_AGENT).toBeDefined();
    expect(Object.isFrozen(MESSENGER_POLICY)).toBe(true);
    expect(Object.isFrozen(MESSENGER_POLICY.tags)).toBe(true);
  });
});

describe('tags that are missing, misplaced or unknown', () => {
  const s = state(JUNE_2026);
  const at = JUNE_2026 + HOUR;

  it('refuses message_tag without a tag (unknown_tag)', () => {
    const decision = refused(evaluateSend(s, { category: 'message_tag' }, at));
    expect(decision.reason).toBe('unknown_tag');
    expect(decision.message).toContain('needs a tag');
  });

  it.each(['response', 'update'] as const)('refuses a tag sent with category %s (unknown_tag)', (category) => {
    const decision = refused(evaluateSend(s, { category, tag: 'HUMAN_AGENT' }, at));
    expect(decision.reason).toBe('unknown_tag');
    expect(decision.message).toContain(`not "${category}"`);
  });

  it('refuses an unknown tag and lists the tags still live at that time', () => {
    const june = refused(evaluateSend(s, { tag: 'MARKETING_BLAST' }, at));
    expect(june.reason).toBe('unknown_tag');
    expect(june.message).toContain('MARKETING_BLAST');
    expect(june.message).toContain('(known: HUMAN_AGENT)');

    const march = refused(evaluateSend(state(MARCH_2026), { tag: 'MARKETING_BLAST' }, MARCH_2026 + HOUR));
    expect(march.message).toContain(
      '(known: HUMAN_AGENT, ACCOUNT_UPDATE, CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE)',
    );
    expect(march.message).not.toContain('SHIPPING_UPDATE');
  });

  it('is case-sensitive, as Meta is', () => {
    expect(refused(evaluateSend(s, { tag: 'human_agent' }, at)).reason).toBe('unknown_tag');
  });

  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'])(
    'refuses the tag %s rather than reading a rule off Object.prototype',
    (tag) => {
      expect(refused(evaluateSend(s, { tag }, at)).reason).toBe('unknown_tag');
    },
  );

  it('refuses a category Messenger does not have, instead of treating it as a response', () => {
    const decision = refused(evaluateSend(s, { category: 'marketing' as never }, at));
    expect(decision.reason).toBe('unknown_tag');
    expect(decision.message).toContain('"marketing" is not a Messenger category');
  });
});

describe('the 16 tags retired on 2020-03-04', () => {
  // Replacement per tag, as the refusal names it (see docs/rules.md for the source).
  const replacements: Record<RetiredIn2020Tag, string | null> = {
    BUSINESS_PRODUCTIVITY: null,
    COMMUNITY_ALERT: null,
    CONFIRMED_EVENT_REMINDER: 'CONFIRMED_EVENT_UPDATE',
    NON_PROMOTIONAL_SUBSCRIPTION: 'News Messaging',
    PAIRING_UPDATE: null,
    APPLICATION_UPDATE: 'ACCOUNT_UPDATE',
    PAYMENT_UPDATE: 'POST_PURCHASE_UPDATE',
    PERSONAL_FINANCE_UPDATE: 'ACCOUNT_UPDATE',
    SHIPPING_UPDATE: 'POST_PURCHASE_UPDATE',
    RESERVATION_UPDATE: 'POST_PURCHASE_UPDATE',
    ISSUE_RESOLUTION: 'ACCOUNT_UPDATE',
    APPOINTMENT_UPDATE: 'CONFIRMED_EVENT_UPDATE',
    GAME_EVENT: null,
    TRANSPORTATION_UPDATE: 'CONFIRMED_EVENT_UPDATE',
    FEATURE_FUNCTIONALITY_UPDATE: null,
    TICKET_UPDATE: 'CONFIRMED_EVENT_UPDATE',
  };

  it('has exactly 16 of them in the policy, all retired on that day', () => {
    const retired = Object.entries(MESSENGER_POLICY.tags).filter(
      ([, rule]) => rule.retiredAt?.getTime() === TAGS_RETIRED_2020_AT.getTime(),
    );
    expect(retired.map(([name]) => name).sort()).toEqual(Object.keys(replacements).sort());
    expect(TAGS_RETIRED_2020_AT.toISOString()).toBe('2020-03-04T00:00:00.000Z');
  });

  it.each(Object.entries(replacements))(
    'refuses %s with retired_tag, the date and the replacement',
    (tag, replacement) => {
      const decision = refused(evaluateSend(state(MARCH_2026), { tag }, MARCH_2026 + HOUR));
      expect(decision.reason).toBe('retired_tag');
      expect(decision.expiredAt).toEqual(TAGS_RETIRED_2020_AT);
      expect(decision.message).toContain(`Meta retired the tag ${tag} on 2020-03-04`);
      if (replacement === null) expect(decision.message).toContain('Meta named no replacement tag');
      else expect(decision.message).toContain(`its replacement is ${replacement}`);
      // Inside the window, the refusal still offers the untagged reply.
      expect(decision.alternatives.some((a) => a.category === 'response')).toBe(true);
    },
  );

  it('follows the replacement chain when the replacement is itself retired', () => {
    const before = refused(evaluateSend(state(MARCH_2026), { tag: 'SHIPPING_UPDATE' }, MARCH_2026));
    expect(before.message).toContain('its replacement is POST_PURCHASE_UPDATE.');
    expect(before.message).not.toContain('itself retired');

    const after = refused(evaluateSend(state(JUNE_2026), { tag: 'SHIPPING_UPDATE' }, JUNE_2026));
    expect(after.message).toContain(
      'its replacement is POST_PURCHASE_UPDATE, itself retired on 2026-04-27; its replacement is utility message templates',
    );
  });

  it('judges by the rules in force at now: the day before, the tag still worked', () => {
    const eve = TAGS_RETIRED_2020_AT.getTime() - 1;
    const decision = allowed(evaluateSend(state(eve - 30 * DAY), { tag: 'SHIPPING_UPDATE' }, eve));
    expect(decision.expiresAt).toEqual(TAGS_RETIRED_2020_AT);
    expect(evaluateSend(state(eve - 30 * DAY), { tag: 'SHIPPING_UPDATE' }, eve + 1).allowed).toBe(false);
  });
});

describe('ACCOUNT_UPDATE, CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE (retired 2026-04-27)', () => {
  const updateTags = ['ACCOUNT_UPDATE', 'CONFIRMED_EVENT_UPDATE', 'POST_PURCHASE_UPDATE'] as const;
  const retirement = Date.parse('2026-04-27T00:00:00.000Z');
  // Long outside both the 24-hour and the 7-day window.
  const longAgo = retirement - 60 * DAY;

  it('uses the changelog date, 2026-04-27T00:00:00Z', () => {
    expect(UPDATE_TAGS_RETIRED_AT.getTime()).toBe(retirement);
  });

  it.each(updateTags)('allows %s outside the window for a known conversation until the day before', (tag) => {
    const decision = allowed(evaluateSend(state(longAgo), { tag }, retirement - 1));
    expect(decision.expiresAt).toEqual(new Date(retirement));
  });

  it.each(updateTags)('refuses %s from 2026-04-27T00:00:00Z with retired_tag and the replacement', (tag) => {
    for (const at of [retirement, retirement + 1, JUNE_2026]) {
      const decision = refused(evaluateSend(state(at - HOUR), { tag }, at));
      expect(decision.reason).toBe('retired_tag');
      expect(decision.expiredAt).toEqual(new Date(retirement));
      expect(decision.message).toContain(`Meta retired the tag ${tag} on 2026-04-27`);
      expect(decision.message).toContain('utility message templates');
    }
  });

  it.each(updateTags)('still needs a conversation: %s to a user who never wrote is no_conversation', (tag) => {
    expect(refused(evaluateSend(null, { tag }, MARCH_2026)).reason).toBe('no_conversation');
  });

  it("moves the boundary to Meta's FAQ date (2026-01-12) with definePolicy", () => {
    const faq = new Date('2026-01-12T00:00:00Z');
    const policy = definePolicy({
      tags: Object.fromEntries(updateTags.map((tag) => [tag, { retiredAt: faq }])),
    });
    for (const tag of updateTags) {
      expect(evaluateSend(state(longAgo), { tag }, faq.getTime() - 1, policy).allowed).toBe(true);
      const decision = refused(evaluateSend(state(longAgo), { tag }, faq.getTime(), policy));
      expect(decision.reason).toBe('retired_tag');
      expect(decision.message).toContain('2026-01-12');
      // The default policy still allows it then.
      expect(evaluateSend(state(longAgo), { tag }, faq.getTime())).toMatchObject({ allowed: true });
    }
  });

  it('overriding one tag leaves the others as they were', () => {
    const policy = definePolicy({ tags: { ACCOUNT_UPDATE: { retiredAt: new Date('2026-01-12T00:00:00Z') } } });
    const feb = Date.parse('2026-02-01T00:00:00Z');
    expect(evaluateSend(state(feb), { tag: 'ACCOUNT_UPDATE' }, feb, policy).allowed).toBe(false);
    expect(evaluateSend(state(feb), { tag: 'POST_PURCHASE_UPDATE' }, feb, policy).allowed).toBe(true);
    expect(policy.tags.ACCOUNT_UPDATE?.replacement).toBe(MESSENGER_POLICY.tags.ACCOUNT_UPDATE?.replacement);
  });

  it('definePolicy can remove a tag (null) or add one Meta documents', () => {
    const policy = definePolicy({
      tags: { HUMAN_AGENT: null, CUSTOMER_FEEDBACK: { windowMs: 7 * DAY } },
    });
    const s = state(JUNE_2026);
    expect(refused(evaluateSend(s, { tag: 'HUMAN_AGENT' }, JUNE_2026, policy)).reason).toBe('unknown_tag');
    expect(allowed(evaluateSend(s, { tag: 'CUSTOMER_FEEDBACK' }, JUNE_2026 + 2 * DAY, policy)).expiresAt).toEqual(
      new Date(JUNE_2026 + 7 * DAY - MARGIN),
    );
  });

  it('a tag with no limit at all is allowed and offered, until the largest Date', () => {
    const policy = definePolicy({ tags: { FOREVER: { windowMs: null } } });
    const s = state(JUNE_2026);
    const later = JUNE_2026 + 365 * DAY;
    expect(allowed(evaluateSend(s, { tag: 'FOREVER' }, later, policy)).expiresAt.getTime()).toBe(8.64e15);
    const offered = refused(evaluateSend(s, {}, later, policy)).alternatives;
    expect(offered).toContainEqual({ category: 'message_tag', tag: 'FOREVER', until: new Date(8.64e15) });
  });
});

describe('conversations the SDK cannot message', () => {
  it.each<[string, SendIntent]>([
    ['a response', {}],
    ['an update', { category: 'update' }],
    ['HUMAN_AGENT', { tag: 'HUMAN_AGENT' }],
    ['ACCOUNT_UPDATE before its retirement', { tag: 'ACCOUNT_UPDATE' }],
  ])('refuses %s to a user who never wrote: no_conversation, nothing else allowed', (_what, intent) => {
    const decision = refused(evaluateSend(null, intent, MARCH_2026));
    expect(decision.reason).toBe('no_conversation');
    expect(decision.alternatives).toEqual([]);
    expect(decision.expiredAt).toBeUndefined();
    expect(decision.message).toContain('No message from this user to this Page is on record');
  });

  describe('closed_by_platform (Vonage refused a send for the window)', () => {
    const last = JUNE_2026;
    const closedAt = last + 2 * HOUR;
    const closed = state(last, { closedAt, closedReason: 'closed_by_platform' });

    it.each(['response', 'update'] as const)('refuses %s even inside 24 h, with when it was closed', (category) => {
      const decision = refused(evaluateSend(closed, { category }, last + 3 * HOUR));
      expect(decision.reason).toBe('closed_by_platform');
      expect(decision.expiredAt).toEqual(new Date(closedAt));
      expect(decision.message).toContain(iso(closedAt));
    });

    it('still offers, and allows, HUMAN_AGENT within its 7 days', () => {
      const decision = refused(evaluateSend(closed, {}, last + 3 * HOUR));
      expect(decision.alternatives).toEqual([
        {
          category: 'message_tag',
          tag: 'HUMAN_AGENT',
          until: new Date(last + 7 * DAY - MARGIN),
          note: MESSENGER_POLICY.tags.HUMAN_AGENT?.note,
        },
      ]);
      expect(decision.message).toContain('HUMAN_AGENT until');
      expect(decision.message).toContain('written by a person');
      expect(evaluateSend(closed, { tag: 'HUMAN_AGENT' }, last + 3 * HOUR).allowed).toBe(true);
    });

    it('counts a close at the very instant of the last inbound as closed', () => {
      const same = state(last, { closedAt: last, closedReason: 'closed_by_platform' });
      expect(refused(evaluateSend(same, {}, last + 1)).reason).toBe('closed_by_platform');
    });

    it('a newer user message reopens the conversation', () => {
      const reopened = { ...closed, lastInboundAt: closedAt + 1 };
      expect(allowed(evaluateSend(reopened, {}, closedAt + 2)).expiresAt).toEqual(
        new Date(closedAt + 1 + DAY - MARGIN),
      );
    });
  });

  describe('user_unavailable (Vonage said the user cannot receive messages)', () => {
    const last = MARCH_2026;
    const unavailable = state(last, { closedAt: last + HOUR, closedReason: 'user_unavailable' });

    it.each<[string, SendIntent]>([
      ['a response', {}],
      ['an update', { category: 'update' }],
      ['HUMAN_AGENT', { tag: 'HUMAN_AGENT' }],
      ['ACCOUNT_UPDATE (still live in March 2026)', { tag: 'ACCOUNT_UPDATE' }],
      ['an unknown tag', { tag: 'NOPE' }],
    ])('refuses %s, with no alternatives', (_what, intent) => {
      const decision = refused(evaluateSend(unavailable, intent, last + 2 * HOUR));
      expect(decision.reason).toBe('user_unavailable');
      expect(decision.alternatives).toEqual([]);
      expect(decision.expiredAt).toEqual(new Date(last + HOUR));
      expect(decision.message).toContain('Nothing can be sent until the user writes again.');
    });

    it('a newer user message reopens the conversation', () => {
      const reopened = { ...unavailable, lastInboundAt: last + 2 * HOUR };
      expect(evaluateSend(reopened, {}, last + 3 * HOUR).allowed).toBe(true);
    });
  });
});

describe('alternatives offered with a refusal', () => {
  const unknown: SendIntent = { tag: 'NOT_A_TAG' };

  it('inside 24 h (June 2026): response, update and HUMAN_AGENT, each with its end', () => {
    const last = JUNE_2026;
    expect(summary(evaluateSend(state(last), unknown, last + HOUR))).toEqual([
      `response < ${iso(last + DAY - MARGIN)}`,
      `update < ${iso(last + DAY - MARGIN)}`,
      `message_tag:HUMAN_AGENT < ${iso(last + 7 * DAY - MARGIN)}`,
    ]);
  });

  it('between 24 h and 7 days (June 2026): HUMAN_AGENT only, with its note in the message', () => {
    const last = JUNE_2026;
    const decision = refused(evaluateSend(state(last), {}, last + 2 * DAY));
    expect(summary(decision)).toEqual([`message_tag:HUMAN_AGENT < ${iso(last + 7 * DAY - MARGIN)}`]);
    expect(decision.alternatives[0]?.note).toContain('written by a person');
    expect(decision.alternatives[0]?.note).toContain('approved Human Agent for the sending app');
    expect(decision.message).toContain(`HUMAN_AGENT until ${iso(last + 7 * DAY - MARGIN)}`);
  });

  it('after 7 days in March 2026: the three update tags, until their retirement', () => {
    const last = MARCH_2026 - 10 * DAY;
    expect(summary(evaluateSend(state(last), {}, MARCH_2026))).toEqual([
      'message_tag:ACCOUNT_UPDATE < 2026-04-27T00:00:00.000Z',
      'message_tag:CONFIRMED_EVENT_UPDATE < 2026-04-27T00:00:00.000Z',
      'message_tag:POST_PURCHASE_UPDATE < 2026-04-27T00:00:00.000Z',
    ]);
  });

  it('after 7 days in June 2026: nothing', () => {
    const decision = refused(evaluateSend(state(JUNE_2026 - 10 * DAY), {}, JUNE_2026));
    expect(decision.alternatives).toEqual([]);
    expect(decision.message).toMatch(/Nothing can be sent until the user writes again\.$/);
  });

  it('a refusal inside the window says the untagged reply is still allowed', () => {
    const decision = refused(evaluateSend(state(JUNE_2026), unknown, JUNE_2026));
    expect(decision.message).toContain(`A reply without a tag is allowed until ${iso(JUNE_2026 + DAY - MARGIN)}.`);
  });

  it('lists exactly the sends that evaluateSend allows, each until its own expiresAt', () => {
    const candidates: SendIntent[] = [
      { category: 'response' },
      { category: 'update' },
      ...Object.keys(MESSENGER_POLICY.tags).map((tag) => ({ category: 'message_tag' as const, tag })),
    ];
    for (const [last, now] of [
      [JUNE_2026, JUNE_2026 + HOUR],
      [JUNE_2026, JUNE_2026 + 2 * DAY],
      [MARCH_2026, MARCH_2026 + 2 * DAY],
      [MARCH_2026, MARCH_2026 + 20 * DAY],
      [TAGS_RETIRED_2020_AT.getTime() - DAY, TAGS_RETIRED_2020_AT.getTime() - 1],
    ] as const) {
      const s = state(last);
      const offered = refused(evaluateSend(s, unknown, now)).alternatives;
      const expected = candidates.flatMap((intent) => {
        const d = evaluateSend(s, intent, now);
        return d.allowed ? [{ category: d.category, tag: d.tag, until: d.expiresAt }] : [];
      });
      expect(offered.map(({ category, tag, until }) => ({ category, tag, until }))).toEqual(expected);
    }
  });
});

describe('refusals', () => {
  it('carry reason, expiredAt, message and alternatives', () => {
    const decision = refused(evaluateSend(state(JUNE_2026), {}, JUNE_2026 + 2 * DAY));
    expect(Object.keys(decision).sort()).toEqual(['allowed', 'alternatives', 'expiredAt', 'message', 'reason']);
    expect(decision.message.length).toBeGreaterThan(20);
  });

  it('leave out expiredAt when there was no window to expire', () => {
    expect('expiredAt' in refused(evaluateSend(null, {}, JUNE_2026))).toBe(false);
    expect('expiredAt' in refused(evaluateSend(state(JUNE_2026), { tag: 'NOPE' }, JUNE_2026))).toBe(false);
  });

  it('never mutate the state they are given', () => {
    const s = Object.freeze(state(JUNE_2026, { closedAt: JUNE_2026, closedReason: 'closed_by_platform' as const }));
    expect(() => evaluateSend(s, {}, JUNE_2026 + HOUR)).not.toThrow();
  });
});

describe('Click-to-Messenger ad window (7 days from the message sent from the ad)', () => {
  const ad = JUNE_2026;
  const adEnd = ad + 7 * DAY - MARGIN;

  it('keeps response and update allowed until the ad message + 7 days − margin, then refuses', () => {
    const s = state(ad, { adReferralAt: ad });
    for (const category of ['response', 'update'] as const) {
      expect(allowed(evaluateSend(s, { category }, adEnd - 1))).toMatchObject({
        window: 'ad_referral',
        expiresAt: new Date(adEnd),
      });
      const refusal = refused(evaluateSend(s, { category }, adEnd));
      expect(refusal).toMatchObject({ reason: 'window_closed', expiredAt: new Date(adEnd) });
      expect(refusal.message).toMatch(/Click-to-Messenger ad window/);
    }
  });

  it('is not moved by later user messages: a message on day 5 does not allow day 12', () => {
    const s = state(ad + 5 * DAY, { adReferralAt: ad });
    expect(allowed(evaluateSend(s, {}, adEnd - 1)).window).toBe('ad_referral');
    // Day 7 on: only the standard window of the day-5 message could allow it, and it closed on day 6.
    expect(refused(evaluateSend(s, {}, adEnd)).reason).toBe('window_closed');
    expect(refused(evaluateSend(s, {}, ad + 12 * DAY)).reason).toBe('window_closed');
  });

  it('gives way to the 24 h window when that ends later (a message on day 6.5)', () => {
    const last = ad + 6.5 * DAY;
    const s = state(last, { adReferralAt: ad });
    const decision = allowed(evaluateSend(s, {}, adEnd + HOUR));
    expect(decision).toMatchObject({ window: 'standard', expiresAt: new Date(last + DAY - MARGIN) });
  });

  it('offers response until the ad end in alternatives, and a 1340 closure still wins', () => {
    const s = state(ad, { adReferralAt: ad });
    const humanAgent = refused(evaluateSend(s, { tag: 'NOT_A_TAG' }, ad + 3 * DAY));
    expect(humanAgent.alternatives[0]).toEqual({ category: 'response', until: new Date(adEnd) });
    const closed = state(ad, { adReferralAt: ad, closedAt: ad + 2 * DAY, closedReason: 'closed_by_platform' });
    expect(refused(evaluateSend(closed, {}, ad + 3 * DAY)).reason).toBe('closed_by_platform');
  });

  it('follows adReferralWindowMs from definePolicy, and refuses a broken one', () => {
    const policy = definePolicy({ adReferralWindowMs: 3 * DAY });
    const s = state(ad, { adReferralAt: ad });
    expect(allowed(evaluateSend(s, {}, ad + 3 * DAY - MARGIN - 1, policy)).window).toBe('ad_referral');
    expect(refused(evaluateSend(s, {}, ad + 3 * DAY - MARGIN, policy)).reason).toBe('window_closed');
    expect(() => definePolicy({ adReferralWindowMs: Number.NaN })).toThrow(ValidationError);
    // A policy built by hand without the field gets Meta's 7 days.
    const handMade = { standardWindowMs: DAY, safetyMarginMs: 0, tags: {} };
    expect(allowed(evaluateSend(s, {}, ad + 7 * DAY - 1, handMade)).window).toBe('ad_referral');
  });
});

describe('tags the platform refused for a Page', () => {
  it('refuses an unavailable tag as tag_unavailable and stops offering it', () => {
    const s = state(JUNE_2026);
    const at = JUNE_2026 + 2 * DAY;
    const page = { unavailableTags: ['HUMAN_AGENT'] };
    const refusal = refused(evaluateSend(s, { tag: 'HUMAN_AGENT' }, at, MESSENGER_POLICY, page));
    expect(refusal.reason).toBe('tag_unavailable');
    expect(refusal.message).toMatch(/markTagAvailable/);
    expect(refused(evaluateSend(s, {}, at, MESSENGER_POLICY, page)).alternatives).toEqual([]);
    expect(refused(evaluateSend(s, {}, at)).alternatives.map((a) => a.tag)).toEqual(['HUMAN_AGENT']);
    // A retired or unknown tag keeps its own reason.
    expect(refused(evaluateSend(s, { tag: 'ACCOUNT_UPDATE' }, at, MESSENGER_POLICY, page)).reason).toBe('retired_tag');
  });
});
