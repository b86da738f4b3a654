import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PAGE_ID,
  DEFAULT_PSID,
  inboundAudio,
  inboundFile,
  inboundImage,
  inboundText,
  inboundUnsupported,
  inboundVideo,
  messageStatus,
} from '../../src/testing/builders.js';
import { parseWebhook } from '../../src/webhooks/parse.js';

const AT = new Date('2026-03-02T09:00:00.000Z');
const ids = { pageId: '1029', psid: '2538', messageUuid: 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab', timestamp: AT };

describe('inbound builders', () => {
  it('builds the v1 text body Vonage posts, flat and snake_case', () => {
    expect(inboundText({ ...ids, text: 'Where is my order?' })).toEqual({
      channel: 'messenger',
      message_uuid: ids.messageUuid,
      to: '1029',
      from: '2538',
      timestamp: '2026-03-02T09:00:00.000Z',
      message_type: 'text',
      text: 'Where is my order?',
    });
  });

  it('fills every field with a default: Page, PSID, a fresh uuid and the current time', () => {
    const first = inboundText();
    const second = inboundText();
    expect(first.to).toBe(DEFAULT_PAGE_ID);
    expect(first.from).toBe(DEFAULT_PSID);
    expect(first.text).toBe('Hello');
    expect(first.message_uuid).not.toBe(second.message_uuid);
    expect(Date.parse(first.timestamp)).not.toBeNaN();
  });

  it('builds the v0.1 body with nested to/from and message.content', () => {
    expect(inboundText({ ...ids, text: 'hi', version: 'v0.1' })).toEqual({
      message_uuid: ids.messageUuid,
      to: { type: 'messenger', id: '1029' },
      from: { type: 'messenger', id: '2538' },
      timestamp: '2026-03-02T09:00:00.000Z',
      direction: 'inbound',
      message: { content: { type: 'text', text: 'hi' } },
    });
  });

  it('adds, replaces and removes top-level fields with extra', () => {
    const body = inboundText({
      ...ids,
      extra: { direction: 'inbound', timestamp: '2020-01-01 14:00:00 UTC', channel: undefined },
    });
    expect(body.direction).toBe('inbound');
    expect(body.timestamp).toBe('2020-01-01 14:00:00 UTC');
    expect('channel' in body).toBe(false);
  });

  const media = [
    ['image', inboundImage, 'https://example.com/image.jpg'],
    ['audio', inboundAudio, 'https://example.com/audio.mp3'],
    ['video', inboundVideo, 'https://example.com/video.mp4'],
    ['file', inboundFile, 'https://example.com/file.pdf'],
  ] as const;

  for (const [type, build, url] of media) {
    it(`builds ${type} messages the SDK parser reads back, in both versions`, () => {
      expect(build(ids)).toMatchObject({ message_type: type, [type]: { url } });
      for (const version of ['v1', 'v0.1'] as const) {
        const event = parseWebhook(build({ ...ids, version, url: `https://cdn.example.com/x.${type}` }));
        expect(event).toMatchObject({
          kind: 'message',
          type,
          url: `https://cdn.example.com/x.${type}`,
          pageId: '1029',
          psid: '2538',
          webhookVersion: version,
          timestamp: AT,
        });
      }
    });
  }

  it('builds an unsupported message with no content that still parses as a message', () => {
    const body = inboundUnsupported(ids);
    expect(body.message_type).toBe('unsupported');
    expect(Object.keys(body)).toEqual(['channel', 'message_uuid', 'to', 'from', 'timestamp', 'message_type']);
    expect(parseWebhook(body)).toMatchObject({ kind: 'message', type: 'unsupported', psid: '2538' });
    expect(parseWebhook(inboundUnsupported({ ...ids, version: 'v0.1' }))).toMatchObject({ type: 'unsupported' });
  });

  it('builds text the SDK parser reads back, in both versions', () => {
    for (const version of ['v1', 'v0.1'] as const) {
      expect(parseWebhook(inboundText({ ...ids, version, text: 'héllo 😀' }))).toMatchObject({
        kind: 'message',
        type: 'text',
        text: 'héllo 😀',
        messageUuid: ids.messageUuid,
      });
    }
  });
});

describe('messageStatus', () => {
  it('builds a v1 delivered status by default', () => {
    expect(messageStatus(ids)).toEqual({
      message_uuid: ids.messageUuid,
      to: '2538',
      from: '1029',
      timestamp: '2026-03-02T09:00:00.000Z',
      status: 'delivered',
      channel: 'messenger',
    });
  });

  for (const status of ['submitted', 'delivered', 'read'] as const) {
    it(`builds ${status} without an error, and the parser reads it back`, () => {
      const body = messageStatus({ ...ids, status, clientRef: 'order-42' });
      expect(body.error).toBeUndefined();
      expect(parseWebhook(body)).toMatchObject({ kind: 'status', status, clientRef: 'order-42', pageId: '1029' });
    });
  }

  it('gives rejected and undeliverable the 1340 window error by default, as Vonage words it', () => {
    for (const status of ['rejected', 'undeliverable'] as const) {
      expect(messageStatus({ ...ids, status }).error).toEqual({
        type: 'https://developer.nexmo.com/api-errors/messages-olympus#1340',
        title: '1340',
        detail: 'Outside of the allowed window - This message is sent outside of allowed response window.',
        instance: expect.any(String),
      });
    }
  });

  it('takes any error code, with Vonage text for the known ones', () => {
    expect(messageStatus({ status: 'rejected', error: 1370 }).error?.detail).toBe(
      'Expired access Token - Please reauthenticate your Facebook Page with Vonage.',
    );
    expect(messageStatus({ status: 'rejected', error: '1021' }).error?.title).toBe('1021');
    expect(messageStatus({ status: 'rejected', error: { code: 1999, detail: 'Odd', instance: 'i-1' } }).error).toEqual({
      type: 'https://developer.nexmo.com/api-errors/messages-olympus#1999',
      title: '1999',
      detail: 'Odd',
      instance: 'i-1',
    });
  });

  it('builds the v0.1 status with error { code, reason }', () => {
    const body = messageStatus({ ...ids, status: 'rejected', error: 1430, version: 'v0.1' });
    expect(body).toEqual({
      message_uuid: ids.messageUuid,
      to: { type: 'messenger', id: '2538' },
      from: { type: 'messenger', id: '1029' },
      timestamp: '2026-03-02T09:00:00.000Z',
      status: 'rejected',
      error: { code: 1430, reason: 'Invalid recipient - The `to` parameter is invalid for the given channel.' },
    });
    expect(parseWebhook(body)).toMatchObject({ kind: 'status', status: 'rejected', error: { code: '1430' } });
  });

  it('carries usage and the error code the parser reads from error.title', () => {
    const body = messageStatus({
      ...ids,
      status: 'rejected',
      error: 1340,
      usage: { currency: 'EUR', price: '0.0333' },
    });
    expect(parseWebhook(body)).toMatchObject({
      status: 'rejected',
      error: {
        code: '1340',
        detail: 'Outside of the allowed window - This message is sent outside of allowed response window.',
      },
      usage: { currency: 'EUR', price: '0.0333' },
    });
  });
});

describe('builders refuse mistakes, and keep building odd bodies on purpose', () => {
  it('refuses a wire format that does not exist instead of building v1', () => {
    expect(() => inboundText({ version: 'v2' as never })).toThrow(
      new TypeError('inboundText: version must be one of v1, v0.1, got "v2" (a string)'),
    );
    expect(() => messageStatus({ version: 'v0' as never })).toThrow(/^messageStatus: version must be one of v1, v0\.1/);
  });

  it('refuses a status Vonage does not send', () => {
    expect(() => messageStatus({ status: 'seen' as never })).toThrow(
      new TypeError(
        'messageStatus: status must be one of submitted, delivered, read, rejected, undeliverable, got "seen" (a string)',
      ),
    );
  });

  it('refuses an error on a status that did not fail', () => {
    for (const status of ['submitted', 'delivered', 'read'] as const) {
      expect(() => messageStatus({ status, error: 1340 })).toThrow(
        new TypeError(`messageStatus: error goes with status rejected or undeliverable, not "${status}"`),
      );
    }
    expect(() => messageStatus({ error: 1340 })).toThrow(/not "delivered"/);
    expect(() => messageStatus({ status: 'rejected', error: Number.NaN })).toThrow(RangeError);
    expect(() => messageStatus({ status: 'rejected', error: { kode: 1340 } as never })).toThrow(/has no option "kode"/);
  });

  it('refuses an invalid timestamp by name, not as a bare "Invalid time value"', () => {
    expect(() => inboundText({ timestamp: new Date('x') })).toThrow(
      new RangeError('inboundText: timestamp is an invalid Date'),
    );
    expect(() => inboundImage({ timestamp: Number.POSITIVE_INFINITY })).toThrow(
      /^inboundImage: timestamp must be finite/,
    );
    expect(() => messageStatus({ timestamp: true as never })).toThrow(TypeError);
  });

  it('refuses an option it does not know and an option of the wrong type', () => {
    expect(() => inboundText({ page: '1029' } as never)).toThrow(
      /^inboundText has no option "page"; its options are pageId, psid, messageUuid, timestamp, version, extra, text$/,
    );
    expect(() => inboundUnsupported({ text: 'a sticker' } as never)).toThrow(/inboundUnsupported has no option "text"/);
    expect(() => inboundText({ psid: 2538 as never })).toThrow(/^inboundText: psid must be a string, got 2538$/);
    expect(() => inboundFile({ extra: 'x' as never })).toThrow(/extra must be an object/);
  });

  it('still builds odd bodies through extra, strings and any error code', () => {
    const delivered = messageStatus({ ...ids, status: 'delivered', extra: { error: { title: '1340' } } });
    expect(delivered).toMatchObject({ status: 'delivered', error: { title: '1340' } });
    expect(inboundText({ ...ids, extra: { version: 'v2', timestamp: 'yesterday' } })).toMatchObject({
      version: 'v2',
      timestamp: 'yesterday',
    });
    expect(inboundText({ timestamp: '2020-01-01 14:00:00 UTC', text: '', pageId: '' })).toMatchObject({
      timestamp: '2020-01-01 14:00:00 UTC',
      text: '',
      to: '',
    });
    expect(messageStatus({ status: 'undeliverable', error: { code: 'E42' } }).error?.title).toBe('E42');
  });
});
