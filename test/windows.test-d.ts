import { describe, expectTypeOf, it } from 'vitest';
import { type PageId, type Psid, pageId, psid } from '../src/ids.js';
import type { ClosingConversation, ExpiringSoonResult, Messenger, WindowWatcher } from '../src/messenger.js';
import { closingWindowEnds, closingWindowSpans } from '../src/policy.js';
import type { ClosingWindow } from '../src/vocabulary.js';

declare const messenger: Messenger;
const page = pageId('102290129340398');
const user = psid('25381719828140932');

describe('expiringSoon', () => {
  it('resolves to branded IDs, Dates, a window word and an optional string cursor', () => {
    expectTypeOf(messenger.expiringSoon({ within: 7_200_000 })).resolves.toEqualTypeOf<ExpiringSoonResult>();
    expectTypeOf<ExpiringSoonResult['conversations']>().toEqualTypeOf<ClosingConversation[]>();
    expectTypeOf<ExpiringSoonResult['cursor']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<ClosingConversation['pageId']>().toEqualTypeOf<PageId>();
    expectTypeOf<ClosingConversation['psid']>().toEqualTypeOf<Psid>();
    expectTypeOf<ClosingConversation['closesAt']>().toEqualTypeOf<Date>();
    expectTypeOf<ClosingConversation['lastInboundAt']>().toEqualTypeOf<Date>();
    expectTypeOf<ClosingConversation['window']>().toEqualTypeOf<ClosingWindow>();
    expectTypeOf<ClosingWindow>().toEqualTypeOf<'standard' | 'human_agent'>();
  });

  it('takes milliseconds, a Page ID (never a PSID) and the window words only', () => {
    expectTypeOf(messenger.expiringSoon).toBeCallableWith({
      within: 3_600_000,
      pageId: page,
      windows: ['standard', 'human_agent'],
      limit: 1000,
      cursor: 'abc',
    });
    expectTypeOf(messenger.expiringSoon).toBeCallableWith({ within: 1, pageId: '102290129340398' });
    // @ts-expect-error within is milliseconds, not "2h" (parse durations at your edge)
    void messenger.expiringSoon({ within: '2h' });
    // @ts-expect-error within is required
    void messenger.expiringSoon({});
    // @ts-expect-error a PSID is not a Page ID
    void messenger.expiringSoon({ within: 1, pageId: user });
    // @ts-expect-error the ad window is not listed
    void messenger.expiringSoon({ within: 1, windows: ['ad_referral'] });
  });
});

describe('watchWindows', () => {
  it('hands onClosing a ClosingConversation and returns a watcher with stop and poll', () => {
    const watcher = messenger.watchWindows({
      before: 7_200_000,
      onClosing(conversation) {
        expectTypeOf(conversation).toEqualTypeOf<ClosingConversation>();
      },
      onError(error, conversation) {
        expectTypeOf(error).toBeUnknown();
        expectTypeOf(conversation).toEqualTypeOf<ClosingConversation | undefined>();
      },
    });
    expectTypeOf(watcher).toEqualTypeOf<WindowWatcher>();
    expectTypeOf(watcher.stop).returns.resolves.toBeVoid();
    expectTypeOf(watcher.poll).returns.resolves.toBeVoid();
    // @ts-expect-error onClosing is required
    void messenger.watchWindows({ before: 1 });
  });
});

describe('the policy functions', () => {
  it('give partial records keyed by window word, in epoch milliseconds', () => {
    expectTypeOf(closingWindowSpans).returns.toEqualTypeOf<Partial<Record<ClosingWindow, number>>>();
    expectTypeOf(closingWindowEnds).returns.toEqualTypeOf<Partial<Record<ClosingWindow, number>>>();
  });
});
