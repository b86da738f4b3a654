/**
 * Stickers and other attachments Vonage does not document for Messenger. Meta added a
 * `sticker` attachment type on 2026-06-01; how Vonage forwards it is not documented
 * (UNCONFIRMED). Its spec (v1.20) says an inbound message whose type the channel does not
 * support arrives as `message_type: "unsupported"` with no content; a new type could also
 * arrive under its own name, following the shape of the media types (`sticker: { url }`), or
 * as an image (as Vonage documents for RCS stickers). Every one of these must parse, open the
 * window, and be answered 200, never 400.
 */
import { describe, expect, it } from 'vitest';
import { pageId, psid } from '../../src/ids.js';
import { createMessenger } from '../../src/messenger.js';
import { memoryStore } from '../../src/store/memory.js';
import { signWebhook } from '../../src/testing/sign.js';
import { parseWebhook } from '../../src/webhooks/parse.js';

const SECRET = 'sticker-secret-0123456789';
const PAGE = '102290129340398';
const USER = '25381719828140932';
const T0 = Date.parse('2026-07-01T10:00:00Z');

const v1 = (fields: Record<string, unknown>) => ({
  channel: 'messenger',
  message_uuid: 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab',
  to: PAGE,
  from: USER,
  timestamp: '2026-07-01T09:59:00Z',
  ...fields,
});
const v01 = (content: Record<string, unknown>) => ({
  message_uuid: 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab',
  to: { type: 'messenger', id: PAGE },
  from: { type: 'messenger', id: USER },
  timestamp: '2026-07-01T09:59:00Z',
  message: { content },
});

const SHAPES: [string, object, string][] = [
  [
    'v1 unsupported (Vonage documents this for types the channel lacks)',
    v1({ message_type: 'unsupported' }),
    'unsupported',
  ],
  [
    'v1 sticker under its own name, media-shaped',
    v1({ message_type: 'sticker', sticker: { url: 'https://lookaside.fbsbx.com/s.png', sticker_id: 369239263222822 } }),
    'unknown',
  ],
  ['v1 sticker under its own name, no content', v1({ message_type: 'sticker' }), 'unknown'],
  [
    'v1 sticker forwarded as an image with extra fields',
    v1({ message_type: 'image', image: { url: 'https://lookaside.fbsbx.com/s.png', sticker_id: 369239263222822 } }),
    'image',
  ],
  [
    'v1 any future type with an object payload',
    v1({ message_type: 'reaction', reaction: { emoji: '👍', action: 'react' } }),
    'unknown',
  ],
  ['v0.1 unsupported', v01({ type: 'unsupported' }), 'unsupported'],
  ['v0.1 sticker', v01({ type: 'sticker', sticker: { url: 'https://lookaside.fbsbx.com/s.png' } }), 'unknown'],
];

describe('stickers and unknown attachments', () => {
  it.each(SHAPES)('%s parses as %s', (_name, body, type) => {
    const event = parseWebhook(JSON.stringify(body));
    expect(event).toMatchObject({ kind: 'message', type, pageId: PAGE, psid: USER });
    if (type === 'unknown')
      expect(event).toHaveProperty('messageType', (body as { message_type?: string }).message_type ?? 'sticker');
  });

  it.each(SHAPES)('%s is answered 200 and opens the window', async (_name, body) => {
    let clock = T0;
    const messenger = createMessenger({
      apiKey: 'test-api-key',
      apiSecret: 'secret',
      signatureSecret: SECRET,
      now: () => new Date(clock),
      store: memoryStore({ now: () => clock }),
    });
    try {
      const signed = signWebhook(body, SECRET, { issuedAt: clock });
      const handler = messenger.webhookHandler();
      const response = await handler(
        new Request('https://app.example/webhooks/inbound', {
          method: 'POST',
          headers: signed.headers,
          body: signed.body,
        }),
      );
      expect(response.status).toBe(200);
      const decision = await messenger.canSend({ from: pageId(PAGE), to: psid(USER) });
      expect(decision).toMatchObject({ allowed: true, window: 'standard' });
      clock += 24 * 60 * 60 * 1000;
      expect((await messenger.canSend({ from: pageId(PAGE), to: psid(USER) })).allowed).toBe(false);
    } finally {
      await messenger.close();
    }
  });
});
