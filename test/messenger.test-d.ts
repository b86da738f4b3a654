import { describe, expectTypeOf, it } from 'vitest';
import { pageId, psid } from '../src/ids.js';
import type { Messenger, SendResult } from '../src/messenger.js';

declare const messenger: Messenger;
const page = pageId('102290129340398');
const user = psid('25381719828140932');

describe('send inputs', () => {
  it('accept branded IDs and plain strings', () => {
    expectTypeOf(messenger.sendText({ from: page, to: user, text: 'hi' })).resolves.toEqualTypeOf<SendResult>();
    expectTypeOf(messenger.sendText).toBeCallableWith({ from: '102290129340398', to: '25381719828140932', text: 'hi' });
  });

  it('refuse a Psid as the Page and a PageId as the user', () => {
    // @ts-expect-error a Psid is not a Page ID
    void messenger.sendText({ from: user, to: user, text: 'hi' });
    // @ts-expect-error a PageId is not a PSID
    void messenger.sendImage({ from: page, to: page, url: 'https://example.com/a.png' });
    // @ts-expect-error swapped in recordInbound
    void messenger.recordInbound({ from: page, to: user, timestamp: new Date(), messageUuid: 'a' });
    // @ts-expect-error a Psid is not a Page ID
    void messenger.pageStatus(user);
    // @ts-expect-error canSend too
    void messenger.canSend({ from: user, to: page });
  });

  it('offer the known tags and categories, and need text or url', () => {
    expectTypeOf(messenger.sendText).toBeCallableWith({ from: page, to: user, text: 'hi', tag: 'HUMAN_AGENT' });
    // @ts-expect-error unknown category
    void messenger.sendText({ from: page, to: user, text: 'hi', category: 'promo' });
    // @ts-expect-error text is required
    void messenger.sendText({ from: page, to: user });
    // @ts-expect-error url is required
    void messenger.sendVideo({ from: page, to: user });
  });

  it('resolve to a result with Dates', () => {
    expectTypeOf<SendResult['windowExpiresAt']>().toEqualTypeOf<Date>();
    expectTypeOf<SendResult['tag']>().toEqualTypeOf<string | undefined>();
  });
});
