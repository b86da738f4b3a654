import { describe, expectTypeOf, it } from 'vitest';
import type { ConversationKey, PageId, Psid } from '../src/ids.js';
import { conversationKey, pageId, parseConversationKey, psid } from '../src/ids.js';
import { evaluateSend, type MessagingCategory, type SendDecision } from '../src/policy.js';
import type { SendAlternative, WindowClosedReason } from '../src/vocabulary.js';

describe('branded IDs', () => {
  it('psid() and pageId() return the branded types', () => {
    expectTypeOf(psid('1')).toEqualTypeOf<Psid>();
    expectTypeOf(pageId('1')).toEqualTypeOf<PageId>();
  });

  it('does not let a Psid stand for a PageId, or the reverse', () => {
    expectTypeOf<Psid>().not.toMatchTypeOf<PageId>();
    expectTypeOf<PageId>().not.toMatchTypeOf<Psid>();
    // The same, at a call site: conversationKey(page, psid) with the arguments swapped.
    const user = psid('2');
    const page = pageId('1');
    // @ts-expect-error a Psid is not a PageId
    conversationKey(user, page);
    // @ts-expect-error a PageId is not a Psid
    conversationKey(page, page);
  });

  it('does not accept a plain string where a branded ID is expected', () => {
    expectTypeOf<string>().not.toMatchTypeOf<Psid>();
    expectTypeOf<string>().not.toMatchTypeOf<PageId>();
    // @ts-expect-error a string has to go through pageId()/psid() first
    conversationKey('1', psid('2'));
  });

  it('lets a branded ID be used wherever a string is', () => {
    expectTypeOf<Psid>().toMatchTypeOf<string>();
    expectTypeOf<PageId>().toMatchTypeOf<string>();
    expectTypeOf(psid('1').padStart(3, '0')).toBeString();
  });

  it('builds a ConversationKey that a plain string is not', () => {
    expectTypeOf(conversationKey(pageId('1'), psid('2'))).toEqualTypeOf<ConversationKey>();
    expectTypeOf<ConversationKey>().toMatchTypeOf<string>();
    expectTypeOf<'1:2'>().not.toMatchTypeOf<ConversationKey>();
    expectTypeOf(parseConversationKey).returns.toEqualTypeOf<{ pageId: PageId; psid: Psid }>();
  });
});

describe('SendDecision', () => {
  it('narrows on `allowed`', () => {
    const decision = evaluateSend(null, {}, 0);
    expectTypeOf(decision).toEqualTypeOf<SendDecision>();
    if (decision.allowed) {
      expectTypeOf(decision.expiresAt).toEqualTypeOf<Date>();
      expectTypeOf(decision.category).toEqualTypeOf<MessagingCategory>();
      expectTypeOf(decision).not.toHaveProperty('reason');
      expectTypeOf(decision).not.toHaveProperty('alternatives');
    } else {
      expectTypeOf(decision.reason).toEqualTypeOf<WindowClosedReason>();
      expectTypeOf(decision.expiredAt).toEqualTypeOf<Date | undefined>();
      expectTypeOf(decision.alternatives).toEqualTypeOf<SendAlternative[]>();
      expectTypeOf(decision.message).toBeString();
      expectTypeOf(decision).not.toHaveProperty('expiresAt');
    }
  });

  it('takes the time as epoch ms or a Date, and nothing else', () => {
    expectTypeOf(evaluateSend).parameter(2).toEqualTypeOf<number | Date>();
    // @ts-expect-error an ISO string is not a time here
    evaluateSend(null, {}, '2026-01-01T00:00:00Z');
  });
});
