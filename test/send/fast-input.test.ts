import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ContentRule, fastSendParams } from '../../src/send/fast-input.js';
import { MIN_AUDIO_URL_CHARS, SendAudioSchema, SendImageSchema, SendTextSchema } from '../../src/send/schemas.js';

const PAGE = '102290129340398';
const USER = '25381719828140932';
const TEXT: ContentRule = { field: 'text' };
const URL_RULE: ContentRule = { field: 'url', minLength: 1 };
const AUDIO: ContentRule = { field: 'url', minLength: MIN_AUDIO_URL_CHARS };

const cases = [
  { rule: TEXT, schema: SendTextSchema },
  { rule: URL_RULE, schema: SendImageSchema },
  { rule: AUDIO, schema: SendAudioSchema },
] as const;

describe('fastSendParams (the send path before zod)', () => {
  it('takes the common send without the schema, with the output the schema gives', () => {
    const input = { from: PAGE, to: USER, text: 'Your order has shipped' };
    expect(fastSendParams(input, TEXT)).toEqual(SendTextSchema.parse(input));
    const media = { from: PAGE, to: USER, url: 'https://example.com/a.png', category: 'update', clientRef: 'r-1' };
    expect(fastSendParams(media, URL_RULE)).toEqual(SendImageSchema.parse(media));
  });

  it('leaves to the schema whatever needs it: tags, webhook URLs, numbers, unknown keys, limits', () => {
    const leave = [
      { from: PAGE, to: USER, text: 'hi', tag: 'HUMAN_AGENT' },
      { from: PAGE, to: USER, text: 'hi', category: 'message_tag' },
      { from: PAGE, to: USER, text: 'hi', category: undefined },
      { from: PAGE, to: USER, text: 'hi', webhookUrl: 'https://example.com/status' },
      { from: 102290129340398, to: USER, text: 'hi' },
      { from: PAGE, to: USER, text: 'hi', extra: 1 },
      { from: PAGE, to: USER, text: '' },
      { from: PAGE, to: USER, text: '😀'.repeat(400) },
      { from: PAGE, to: USER, text: 'hi', clientRef: 'x'.repeat(101) },
      { from: '', to: USER, text: 'hi' },
      { from: '1'.repeat(33), to: USER, text: 'hi' },
      Object.assign(Object.create({ inherited: true }), { from: PAGE, to: USER, text: 'hi' }),
      JSON.parse(`{"from":"${PAGE}","to":"${USER}","text":"hi","__proto__":{}}`),
      null,
      'text',
    ];
    for (const input of leave) expect(fastSendParams(input, TEXT)).toBeUndefined();
    expect(fastSendParams({ from: PAGE, to: USER, url: 'http://example.com/a.png' }, URL_RULE)).toBeUndefined();
    expect(fastSendParams({ from: PAGE, to: USER, url: 'https://a' }, AUDIO)).toBeUndefined();
  });

  it('accepts only what the schema accepts, and then outputs the same', () => {
    const id = fc.oneof(
      { arbitrary: fc.constantFrom(PAGE, USER, '0', '1'.repeat(32)), weight: 8 },
      { arbitrary: fc.stringMatching(/^[0-9]{0,34}$/), weight: 2 },
      { arbitrary: fc.constantFrom('1'.repeat(33), '', '12a', ' 12', '١٢'), weight: 1 },
      { arbitrary: fc.integer(), weight: 1 },
      { arbitrary: fc.string({ maxLength: 40 }), weight: 1 },
    );
    const content = fc.oneof(
      fc.string({ maxLength: 700 }),
      fc.constantFrom(
        'https://example.com/a.png',
        'https://a',
        'https://',
        'http://example.com',
        'https://ex ample.com',
      ),
      fc.string({ unit: 'grapheme', maxLength: 700 }),
      fc.integer(),
    );
    const optional = {
      category: fc.constantFrom('response', 'update', 'message_tag', 'RESPONSE', undefined),
      clientRef: fc.oneof(fc.string({ maxLength: 120 }), fc.integer()),
      tag: fc.constantFrom('HUMAN_AGENT', 'x'),
      other: fc.boolean(),
    };
    // Mostly the common shape (so the fast path is taken), sometimes with other keys.
    const sends = fc
      .constantFrom(...cases)
      .chain((c) =>
        fc.tuple(
          fc.constant(c),
          fc.record({ from: id, to: id, [c.rule.field]: content }),
          fc.option(fc.record(optional, { requiredKeys: [] }), { freq: 2 }),
        ),
      );
    let taken = 0;
    fc.assert(
      fc.property(sends, ([{ rule, schema }, required, extra]) => {
        const value = { ...required, ...extra };
        const fast = fastSendParams(value, rule);
        if (fast === undefined) return;
        taken += 1;
        const result = schema.safeParse(value);
        expect(result.success).toBe(true);
        expect(fast).toEqual(result.data);
      }),
      { numRuns: 3000 },
    );
    // The property says something only if the fast path was taken often enough.
    expect(taken).toBeGreaterThan(30);
  });
});
