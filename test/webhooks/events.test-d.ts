import { describe, expectTypeOf, it } from 'vitest';
import type { PageId, Psid } from '../../src/ids.js';
import type { MessengerEvent, StatusError, WebhookCallbacks } from '../../src/webhooks/index.js';

declare const event: MessengerEvent;

describe('MessengerEvent', () => {
  it('narrows by kind and type to the fields each event has', () => {
    if (event.kind === 'message') {
      expectTypeOf(event.pageId).toEqualTypeOf<PageId>();
      expectTypeOf(event.psid).toEqualTypeOf<Psid>();
      if (event.type === 'text') expectTypeOf(event.text).toEqualTypeOf<string>();
      if (event.type === 'image') expectTypeOf(event.url).toEqualTypeOf<string>();
      if (event.type === 'unknown') expectTypeOf(event.messageType).toEqualTypeOf<string>();
      // @ts-expect-error only a text message has text
      if (event.type === 'image') void event.text;
    }
    if (event.kind === 'status') {
      expectTypeOf(event.error).toEqualTypeOf<StatusError | undefined>();
      expectTypeOf(event.status).toEqualTypeOf<'submitted' | 'delivered' | 'read' | 'rejected' | 'undeliverable'>();
    }
  });

  it('types the callbacks with the narrowed events', () => {
    const callbacks: WebhookCallbacks = {
      onMessage: (message) => {
        expectTypeOf(message.kind).toEqualTypeOf<'message'>();
      },
      onStatus: (status) => {
        expectTypeOf(status.kind).toEqualTypeOf<'status'>();
      },
    };
    expectTypeOf(callbacks).toMatchTypeOf<WebhookCallbacks>();
  });
});
