import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  closingWindowEnds,
  closingWindowSpans,
  definePolicy,
  evaluateSend,
  MESSENGER_POLICY,
  type MessagingCategory,
  type MessengerPolicy,
  type SendIntent,
} from '../src/policy.js';
import type { ConversationState } from '../src/store/types.js';
import type { WindowClosedReason } from '../src/vocabulary.js';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const NUM_RUNS = 400;

const REASONS: readonly WindowClosedReason[] = [
  'no_conversation',
  'window_closed',
  'tag_window_closed',
  'retired_tag',
  'unknown_tag',
  'closed_by_platform',
  'user_unavailable',
];

/** Times around both retirements (2020-03-04 and 2026-04-27). */
const instant = fc.integer({ min: Date.parse('2019-06-01T00:00:00Z'), max: Date.parse('2027-06-01T00:00:00Z') });
/** Offsets that cross every window (24 h, 7 d) and the margin, in both directions. */
const offset = fc.oneof(
  fc.integer({ min: 0, max: 10 * DAY }),
  fc.constantFrom(0, 1, DAY - 60_000 - 1, DAY - 60_000, 7 * DAY - 60_000 - 1, 7 * DAY - 60_000, DAY, 7 * DAY),
);

const conversation: fc.Arbitrary<ConversationState> = fc
  .record({
    lastInboundAt: instant,
    closed: fc.option(
      fc.record({
        delta: fc.integer({ min: -3 * DAY, max: 3 * DAY }),
        reason: fc.constantFrom('closed_by_platform' as const, 'user_unavailable' as const),
      }),
      { nil: undefined },
    ),
  })
  .map(({ lastInboundAt, closed }) => ({
    lastInboundAt,
    lastInboundUuid: 'uuid',
    ...(closed ? { closedAt: lastInboundAt + closed.delta, closedReason: closed.reason } : {}),
  }));

const maybeState = fc.option(conversation, { nil: null, freq: 8 });

const knownTags = Object.keys(MESSENGER_POLICY.tags);
const anyTag = fc.oneof(
  fc.constantFrom(...knownTags),
  fc.constantFrom('constructor', '__proto__', 'toString', 'human_agent', '', 'CUSTOMER_FEEDBACK'),
  fc.string(),
);
const intent: fc.Arbitrary<SendIntent> = fc.record(
  {
    category: fc.constantFrom<MessagingCategory>('response', 'update', 'message_tag'),
    tag: anyTag,
  },
  { requiredKeys: [] },
);

const policy: fc.Arbitrary<MessengerPolicy> = fc.constantFrom(
  MESSENGER_POLICY,
  definePolicy({ safetyMarginMs: 0 }),
  definePolicy({ safetyMarginMs: 3 * HOUR }),
  definePolicy({
    tags: Object.fromEntries(
      ['ACCOUNT_UPDATE', 'CONFIRMED_EVENT_UPDATE', 'POST_PURCHASE_UPDATE'].map((t) => [
        t,
        { retiredAt: new Date('2026-01-12T00:00:00Z') },
      ]),
    ),
  }),
  definePolicy({ tags: { UNLIMITED: { windowMs: null } } }),
);

describe('evaluateSend properties', () => {
  it('is monotonic in time: once refused, refused at every later instant', () => {
    fc.assert(
      fc.property(maybeState, intent, policy, instant, fc.integer({ min: 1, max: 400 * DAY }), (s, i, p, t, later) => {
        if (evaluateSend(s, i, t, p).allowed) return;
        expect(evaluateSend(s, i, t + later, p).allowed).toBe(false);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('is monotonic in time: if allowed at t, allowed at every earlier instant since the last inbound', () => {
    fc.assert(
      fc.property(conversation, intent, policy, offset, fc.double({ min: 0, max: 1, noNaN: true }), (s, i, p, o, f) => {
        const t = s.lastInboundAt + o;
        if (!evaluateSend(s, i, t, p).allowed) return;
        const earlier = s.lastInboundAt + Math.floor(o * f);
        expect(evaluateSend(s, i, earlier, p).allowed).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('once closed by the platform, response/update stay refused until a newer inbound reopens them', () => {
    fc.assert(
      fc.property(
        conversation,
        fc.constantFrom<MessagingCategory>('response', 'update'),
        policy,
        offset,
        fc.integer({ min: 1, max: 3 * DAY }),
        (s, category, p, o, gap) => {
          fc.pre(s.closedAt !== undefined && s.closedAt >= s.lastInboundAt);
          const closedAt = s.closedAt as number;
          const decision = evaluateSend(s, { category }, s.lastInboundAt + o, p);
          expect(decision).toMatchObject({ allowed: false, reason: s.closedReason });
          // The user writes `gap` ms after the close: the window opens again from then.
          const reopened = { ...s, lastInboundAt: closedAt + gap };
          const fresh = evaluateSend(reopened, { category }, reopened.lastInboundAt, p);
          expect(fresh.allowed).toBe(p.safetyMarginMs < p.standardWindowMs);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('a later inbound never shortens a window (expiresAt is non-decreasing in lastInboundAt)', () => {
    fc.assert(
      fc.property(conversation, intent, policy, offset, fc.integer({ min: 0, max: 10 * DAY }), (s, i, p, o, d) => {
        const now = s.lastInboundAt + o;
        const before = evaluateSend(s, i, now, p);
        const after = evaluateSend({ ...s, lastInboundAt: s.lastInboundAt + d }, i, now, p);
        if (!before.allowed) return;
        expect(after.allowed).toBe(true);
        if (after.allowed) expect(after.expiresAt.getTime()).toBeGreaterThanOrEqual(before.expiresAt.getTime());
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("an allowed decision's expiresAt is after now", () => {
    fc.assert(
      fc.property(maybeState, intent, policy, instant, (s, i, p, t) => {
        const decision = evaluateSend(s, i, t, p);
        if (decision.allowed) expect(decision.expiresAt.getTime()).toBeGreaterThan(t);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('every alternative offered is itself allowed, until exactly its `until`', () => {
    fc.assert(
      fc.property(conversation, intent, policy, offset, (s, i, p, o) => {
        const now = s.lastInboundAt + o;
        const decision = evaluateSend(s, i, now, p);
        if (decision.allowed) return;
        for (const alternative of decision.alternatives) {
          const retry = evaluateSend(s, alternative, now, p);
          expect(retry.allowed).toBe(true);
          if (retry.allowed) expect(retry.expiresAt).toEqual(alternative.until);
          // The largest Date stands for "no limit" (a tag with windowMs null and no retirement).
          if (alternative.until.getTime() < 8.64e15) {
            expect(evaluateSend(s, alternative, alternative.until.getTime(), p).allowed).toBe(false);
          }
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('never throws for any string tag and category, and always answers in its own vocabulary', () => {
    fc.assert(
      fc.property(
        maybeState,
        fc.option(fc.oneof(fc.constantFrom('response', 'update', 'message_tag'), fc.string()), { nil: undefined }),
        fc.option(anyTag, { nil: undefined }),
        policy,
        instant,
        (s, category, tag, p, t) => {
          const i = { category, tag } as SendIntent;
          const decision = evaluateSend(s, i, t, p);
          if (decision.allowed) {
            expect(['response', 'update', 'message_tag']).toContain(decision.category);
          } else {
            expect(REASONS).toContain(decision.reason);
            expect(decision.message.length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('is pure: the same inputs give the same decision', () => {
    fc.assert(
      fc.property(maybeState, intent, policy, instant, (s, i, p, t) => {
        expect(evaluateSend(s, i, t, p)).toEqual(evaluateSend(s, i, new Date(t), p));
      }),
      { numRuns: 100 },
    );
  });
});

describe('closingWindowEnds (what expiringSoon lists) agrees with evaluateSend', () => {
  const withAd: fc.Arbitrary<ConversationState> = fc
    .tuple(conversation, fc.option(fc.integer({ min: 0, max: 3 * DAY }), { nil: undefined }))
    .map(([s, adBefore]) => (adBefore === undefined ? s : { ...s, adReferralAt: s.lastInboundAt - adBefore }));
  const policies = fc.oneof(policy, fc.constant(definePolicy({ tags: { HUMAN_AGENT: null } })));

  it('standard ends exactly when a plain reply stops being allowed, and is absent when another rule decides', () => {
    fc.assert(
      fc.property(withAd, policies, offset, (s, p, o) => {
        const now = s.lastInboundAt + o;
        const end = closingWindowEnds(s, p, now).standard;
        const reply = evaluateSend(s, {}, now, p);
        if (end === undefined) {
          // Closed by the platform, or an ad window decides instead.
          if (reply.allowed) expect(reply.window).toBe('ad_referral');
          return;
        }
        expect(end).toBe(s.lastInboundAt + (closingWindowSpans(p, now).standard as number));
        expect(reply.allowed).toBe(now < end);
        if (reply.allowed) expect([reply.window, reply.expiresAt.getTime()]).toEqual(['standard', end]);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('human_agent ends exactly when HUMAN_AGENT stops being allowed, and only where the policy has it', () => {
    fc.assert(
      fc.property(withAd, policies, offset, (s, p, o) => {
        const now = s.lastInboundAt + o;
        const end = closingWindowEnds(s, p, now).human_agent;
        const tagged = evaluateSend(s, { tag: 'HUMAN_AGENT' }, now, p);
        if (end === undefined) {
          expect(tagged.allowed).toBe(false);
          return;
        }
        expect(tagged.allowed).toBe(now < end);
        if (tagged.allowed) expect(tagged.expiresAt.getTime()).toBe(end);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
