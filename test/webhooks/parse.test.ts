import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { parseVonageTimestamp, parseWebhook } from '../../src/webhooks/parse.js';
import { inboundV0, inboundV1, PAGE, PSID, rejected, statusV0, statusV1, UUID } from './helpers.js';

const MEDIA = ['image', 'audio', 'video', 'file'] as const;

function refusal(input: Parameters<typeof parseWebhook>[0]): ValidationError {
  try {
    parseWebhook(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('parseWebhook: inbound messages', () => {
  it('parses a v1 text message into Page ID, PSID, time and text', () => {
    const event = parseWebhook(JSON.stringify(inboundV1()));
    expect(event).toMatchObject({
      kind: 'message',
      type: 'text',
      text: 'Hello',
      pageId: PAGE,
      psid: PSID,
      messageUuid: UUID,
      webhookVersion: 'v1',
      channel: 'messenger',
    });
    if (event.kind !== 'message') throw new Error('kind');
    expect(event.timestamp.toISOString()).toBe('2026-03-01T11:59:30.000Z');
  });

  it('parses a v0.1 text message (nested to/from, message.content) into the same shape', () => {
    const event = parseWebhook(inboundV0());
    expect(event).toMatchObject({ kind: 'message', type: 'text', text: 'Hello', pageId: PAGE, psid: PSID });
    expect(event).toMatchObject({ webhookVersion: 'v0.1' });
  });

  for (const type of MEDIA) {
    it(`parses a v1 ${type} message with its url`, () => {
      const url = `https://example.com/media/${type}`;
      const event = parseWebhook(inboundV1({ message_type: type, text: undefined, [type]: { url } }));
      expect(event).toMatchObject({ kind: 'message', type, url, webhookVersion: 'v1' });
    });

    it(`parses a v0.1 ${type} message with its url`, () => {
      const url = `https://example.com/media/${type}`;
      const event = parseWebhook(inboundV0({ type, [type]: { url } }));
      expect(event).toMatchObject({ kind: 'message', type, url, webhookVersion: 'v0.1' });
    });

    it(`refuses a ${type} message without a url`, () => {
      expect(refusal(inboundV1({ message_type: type, [type]: {} })).issues[0]?.path).toBe(`${type}.url`);
    });
  }

  it('parses v1 and v0.1 unsupported messages', () => {
    expect(parseWebhook(inboundV1({ message_type: 'unsupported', text: undefined }))).toMatchObject({
      type: 'unsupported',
    });
    expect(parseWebhook(inboundV0({ type: 'unsupported' }))).toMatchObject({ type: 'unsupported' });
  });

  it('turns an unknown message_type into an unknown event instead of failing (v1 and v0.1)', () => {
    expect(parseWebhook(inboundV1({ message_type: 'reaction', reaction: { emoji: '👍' } }))).toMatchObject({
      kind: 'message',
      type: 'unknown',
      messageType: 'reaction',
    });
    expect(parseWebhook(inboundV0({ type: 'location', location: {} }))).toMatchObject({
      type: 'unknown',
      messageType: 'location',
    });
  });

  it('keeps the original body in raw, extra fields included', () => {
    const body = inboundV1({ direction: 'inbound', _links: { self: 'x' } });
    const event = parseWebhook(JSON.stringify(body));
    expect(event.raw).toEqual(body);
  });

  it('keeps text with HTML and unicode as sent', () => {
    const text = '<b>hi</b> 👋 \u0000';
    expect(parseWebhook(inboundV1({ text }))).toMatchObject({ text });
  });

  it('accepts v0.1 ids listed before or after their type', () => {
    const body = inboundV0(undefined, { to: { id: PAGE, type: 'messenger' }, from: { type: 'messenger', id: PSID } });
    expect(parseWebhook(body)).toMatchObject({ pageId: PAGE, psid: PSID });
  });

  it('does not require a version-4 UUID', () => {
    expect(parseWebhook(inboundV1({ message_uuid: 'not-a-uuid-at-all' }))).toMatchObject({
      messageUuid: 'not-a-uuid-at-all',
    });
  });

  it('parses a body given as bytes', () => {
    expect(parseWebhook(Buffer.from(JSON.stringify(inboundV1())))).toMatchObject({ type: 'text' });
  });
});

describe('parseWebhook: statuses', () => {
  for (const status of ['submitted', 'delivered', 'read', 'rejected', 'undeliverable'] as const) {
    it(`parses a v1 ${status} status (from = Page, to = PSID)`, () => {
      expect(parseWebhook(statusV1({ status }))).toMatchObject({
        kind: 'status',
        status,
        pageId: PAGE,
        psid: PSID,
        webhookVersion: 'v1',
      });
    });

    it(`parses a v0.1 ${status} status`, () => {
      expect(parseWebhook(statusV0({ status }))).toMatchObject({ kind: 'status', status, pageId: PAGE, psid: PSID });
    });
  }

  it('reads the v1 error code from error.title, as a string or a number', () => {
    expect(parseWebhook(rejected('1340'))).toMatchObject({
      error: { code: '1340', title: '1340', detail: 'refused', type: expect.stringContaining('#1340') },
    });
    expect(parseWebhook(rejected(1370))).toMatchObject({ error: { code: '1370', title: '1370' } });
  });

  it('falls back to the code in error.type when the title is text', () => {
    const body = statusV1({
      status: 'rejected',
      error: { type: 'https://developer.nexmo.com/api-errors/messages-olympus#1021', title: 'Invalid tag' },
    });
    expect(parseWebhook(body)).toMatchObject({ error: { code: '1021', title: 'Invalid tag' } });
  });

  it('reads the v0.1 error { code, reason }', () => {
    const body = statusV0({ status: 'undeliverable', error: { code: 1430, reason: 'Invalid recipient' } });
    expect(parseWebhook(body)).toMatchObject({ error: { code: '1430', detail: 'Invalid recipient' } });
  });

  it('keeps usage.price a string, and client_ref', () => {
    const body = statusV1({ usage: { currency: 'EUR', price: '0.0333' }, client_ref: 'order-7' });
    expect(parseWebhook(body)).toMatchObject({ usage: { currency: 'EUR', price: '0.0333' }, clientRef: 'order-7' });
    expect(parseWebhook(statusV1({ usage: { currency: 'EUR', price: 0.05 } }))).toMatchObject({
      usage: { price: '0.05' },
    });
  });

  it('ignores a malformed usage or error instead of refusing the status', () => {
    const event = parseWebhook(statusV1({ usage: 'free', error: 42 }));
    expect(event).not.toHaveProperty('usage');
    expect(event).not.toHaveProperty('error');
  });

  it('refuses an unknown status value', () => {
    expect(refusal(statusV1({ status: 'exploded' })).issues[0]?.path).toBe('status');
  });

  it('recognizes a Dispatch (failover) completion event without crashing', () => {
    const body = {
      template: 'failover',
      dispatch_uuid: 'c1d2',
      status: 'completed',
      timestamp: '2020-01-01 14:00:00 +0000',
      _links: { messages: [{ message_uuid: 'x', channel: 'messenger', status: 'delivered' }] },
    };
    expect(parseWebhook(body)).toMatchObject({ kind: 'dispatch', dispatchUuid: 'c1d2', status: 'completed' });
  });
});

describe('parseWebhook: timestamps', () => {
  it.each([
    ['2020-01-01T14:00:00.000Z', '2020-01-01T14:00:00.000Z'],
    ['2020-01-01T15:43:21Z', '2020-01-01T15:43:21.000Z'],
    ['2020-01-01 14:00:00 UTC', '2020-01-01T14:00:00.000Z'],
    ['2020-01-01 15:43:21 +0200', '2020-01-01T13:43:21.000Z'],
    ['2020-01-01T15:43:21.123456+02:00', '2020-01-01T13:43:21.123Z'],
    ['2020-01-01T00:30:00-0130', '2020-01-01T02:00:00.000Z'],
    ['2020-01-01 14:00:00', '2020-01-01T14:00:00.000Z'],
    ['2024-02-29T23:59:59.999Z', '2024-02-29T23:59:59.999Z'],
    ['2020-01-01T14:00:00.000z', '2020-01-01T14:00:00.000Z'],
  ])('reads %s', (text, iso) => {
    expect(new Date(parseVonageTimestamp(text) as number).toISOString()).toBe(iso);
    expect(parseWebhook(inboundV1({ timestamp: text }))).toMatchObject({ timestamp: new Date(iso) });
  });

  it.each([
    '2021-02-30T00:00:00.000Z',
    '2020-01-31T24:00:00.000Z',
    '2020-02-30T12:00:00.000Z',
    '2021-02-30T00:00:00Z',
    '2020-13-01T00:00:00Z',
    '2020-01-01T24:00:00Z',
    'yesterday',
    '1577887200',
    '2020-01-01T14:00:00Z junk',
  ])('refuses %s', (text) => {
    expect(parseVonageTimestamp(text)).toBeUndefined();
    expect(refusal(inboundV1({ timestamp: text })).issues[0]?.path).toBe('timestamp');
  });

  it('refuses a numeric timestamp', () => {
    expect(refusal(inboundV1({ timestamp: 1577887200000 })).issues[0]?.path).toBe('timestamp');
  });
});

describe('parseWebhook: refusals', () => {
  it('refuses a PSID sent as a number, which may already have lost digits', () => {
    const text = JSON.stringify(inboundV1()).replace(`"${PSID}"`, PSID);
    expect(Number.isSafeInteger(JSON.parse(text).from)).toBe(false);
    const error = refusal(text);
    expect(error.issues[0]?.path).toBe('from');
    expect(error.message).toMatch(/number/);
  });

  it('keeps a leading zero in an ID', () => {
    expect(parseWebhook(inboundV1({ from: '0123456789' }))).toMatchObject({ psid: '0123456789' });
  });

  it.each([
    ['whatsapp', inboundV1({ channel: 'whatsapp' })],
    ['sms v0.1', inboundV0(undefined, { to: { type: 'sms', number: '447700900000' } })],
    ['viber status', statusV1({ channel: 'viber_service' })],
  ])('refuses another channel with a clear message (%s)', (_name, body) => {
    expect(refusal(body).message).toMatch(/messenger/i);
  });

  it.each([
    ['not JSON', '{"channel":'],
    ['empty', ''],
    ['an array', '[]'],
    ['a string', '"x"'],
    ['null', 'null'],
    ['no type', JSON.stringify({ channel: 'messenger', to: PAGE })],
    ['text not a string', JSON.stringify(inboundV1({ text: 5 }))],
    ['missing uuid', JSON.stringify(inboundV1({ message_uuid: undefined }))],
    ['huge uuid', JSON.stringify(inboundV1({ message_uuid: 'u'.repeat(10_000) }))],
    ['PSID with letters', JSON.stringify(inboundV1({ from: '12ab' }))],
    ['PSID too long', JSON.stringify(inboundV1({ from: '1'.repeat(10_000) }))],
    ['v0.1 without content', JSON.stringify(inboundV0(undefined, { message: {} }))],
    ['message_type not a string', JSON.stringify(inboundV1({ message_type: ['text'] }))],
  ])('refuses %s with a ValidationError', (_name, body) => {
    refusal(body);
  });

  it('reads __proto__ and constructor keys as plain data and pollutes nothing', () => {
    const text = `{"__proto__":{"polluted":true,"channel":"messenger"},"constructor":{"prototype":{"polluted":true}},${JSON.stringify(
      inboundV1(),
    ).slice(1)}`;
    const event = parseWebhook(text);
    expect(event).toMatchObject({ type: 'text' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    // A body whose required fields exist only on a __proto__ key is refused.
    const onlyProto = `{"__proto__":${JSON.stringify(inboundV1())}}`;
    refusal(onlyProto);
  });

  it('ignores inherited properties of a parsed object passed in', () => {
    const proto = inboundV1();
    const body = Object.create(proto) as object;
    refusal(body);
  });
});

describe('parseWebhook: fuzzing', () => {
  const onlyTyped = (input: Parameters<typeof parseWebhook>[0]) => {
    try {
      parseWebhook(input);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
    }
  };

  it('throws nothing but ValidationError for any string', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => onlyTyped(text)));
  });

  it('throws nothing but ValidationError for any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => onlyTyped(JSON.stringify(value) ?? 'null')));
  });

  it('throws nothing but ValidationError for Messenger-shaped bodies with any field values', () => {
    const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined));
    const field = (name: string) => fc.record({ [name]: anyValue }, { requiredKeys: [] });
    const shaped = fc
      .tuple(
        fc.constantFrom(inboundV1(), inboundV0(), statusV1(), statusV0(), rejected('1340')),
        field('channel'),
        field('to'),
        field('from'),
        field('timestamp'),
        field('message_type'),
        field('status'),
        field('error'),
        field('message'),
        field('text'),
        field('image'),
        field('usage'),
        field('dispatch_uuid'),
      )
      .map(([base, ...parts]) => Object.assign({}, base, ...parts) as object);
    fc.assert(
      fc.property(shaped, (body) => {
        onlyTyped(body);
        onlyTyped(JSON.stringify(body));
      }),
      { numRuns: 2000 },
    );
  });

  it('throws nothing but ValidationError for random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => onlyTyped(bytes)));
  });
});
