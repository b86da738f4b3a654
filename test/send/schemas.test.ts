import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import {
  CanSendSchema,
  codePointLength,
  parseInput,
  SendAudioSchema,
  SendFileSchema,
  SendImageSchema,
  SendTextSchema,
  SendVideoSchema,
} from '../../src/send/schemas.js';

const PAGE = '102290129340398';
const USER = '25381719828140932';
const base = { from: PAGE, to: USER };

function issuesOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return [...(error as ValidationError).issues];
  }
  throw new Error('expected a ValidationError');
}

describe('sendText input', () => {
  it('accepts plain strings for from and to and brands them', () => {
    const params = parseInput(SendTextSchema, { ...base, text: 'hi' }, 'sendText');
    expect(params).toEqual({ from: PAGE, to: USER, text: 'hi' });
  });

  it('accepts 640 characters and refuses 641', () => {
    expect(() => parseInput(SendTextSchema, { ...base, text: 'a'.repeat(640) }, 'sendText')).not.toThrow();
    const issues = issuesOf(() => parseInput(SendTextSchema, { ...base, text: 'a'.repeat(641) }, 'sendText'));
    expect(issues[0]?.path).toBe('text');
    expect(issues[0]?.message).toMatch(/640/);
  });

  it('counts an emoji as one character, so 640 emoji pass and 641 do not', () => {
    const emoji = '😀';
    expect(emoji.length).toBe(2);
    expect(() => parseInput(SendTextSchema, { ...base, text: emoji.repeat(640) }, 'sendText')).not.toThrow();
    expect(() => parseInput(SendTextSchema, { ...base, text: emoji.repeat(641) }, 'sendText')).toThrow(ValidationError);
    expect(() => parseInput(SendTextSchema, { ...base, text: `${'a'.repeat(639)}${emoji}` }, 'sendText')).not.toThrow();
    expect(() => parseInput(SendTextSchema, { ...base, text: `${'a'.repeat(640)}${emoji}` }, 'sendText')).toThrow(
      ValidationError,
    );
  });

  it('counts code points, pairing surrogates only when they form a pair', () => {
    expect(codePointLength('a😀b')).toBe(3);
    expect(codePointLength('\ud83d')).toBe(1);
    expect(codePointLength('\ud83d\ud83d')).toBe(2);
    expect(codePointLength('')).toBe(0);
  });

  it('counts like Array.from for any string, lone surrogates included', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 50 }),
        (text) => codePointLength(text) === Array.from(text).length,
      ),
    );
    fc.assert(
      fc.property(
        fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((u) => String.fromCharCode(u)) }),
        (text) => codePointLength(text) === Array.from(text).length,
      ),
    );
  });

  it('refuses empty text and a missing text', () => {
    expect(issuesOf(() => parseInput(SendTextSchema, { ...base, text: '' }, 'sendText'))[0]?.path).toBe('text');
    expect(issuesOf(() => parseInput(SendTextSchema, { ...base }, 'sendText'))[0]?.path).toBe('text');
  });

  it('refuses malformed IDs with the field named', () => {
    const issues = issuesOf(() => parseInput(SendTextSchema, { from: 'page', to: '12ab', text: 'x' }, 'sendText'));
    expect(issues.map((i) => i.path).sort()).toEqual(['from', 'to']);
  });

  it('refuses a clientRef over 100 characters and accepts 100', () => {
    expect(() =>
      parseInput(SendTextSchema, { ...base, text: 'x', clientRef: 'r'.repeat(100) }, 'sendText'),
    ).not.toThrow();
    const issues = issuesOf(() =>
      parseInput(SendTextSchema, { ...base, text: 'x', clientRef: 'r'.repeat(101) }, 'sendText'),
    );
    expect(issues[0]?.path).toBe('clientRef');
  });

  it('refuses a tag with a category other than message_tag', () => {
    const issues = issuesOf(() =>
      parseInput(SendTextSchema, { ...base, text: 'x', tag: 'HUMAN_AGENT', category: 'response' }, 'sendText'),
    );
    expect(issues).toEqual([{ path: 'category', message: expect.stringMatching(/message_tag/) }]);
  });

  it('refuses category message_tag without a tag', () => {
    const issues = issuesOf(() =>
      parseInput(SendTextSchema, { ...base, text: 'x', category: 'message_tag' }, 'sendText'),
    );
    expect(issues).toEqual([{ path: 'tag', message: expect.stringMatching(/needs a tag/) }]);
  });

  it('accepts a tag alone or with category message_tag', () => {
    expect(parseInput(SendTextSchema, { ...base, text: 'x', tag: 'HUMAN_AGENT' }, 'sendText').tag).toBe('HUMAN_AGENT');
    expect(
      parseInput(SendTextSchema, { ...base, text: 'x', tag: 'HUMAN_AGENT', category: 'message_tag' }, 'sendText')
        .category,
    ).toBe('message_tag');
  });

  it('refuses an unknown category and a lower-case tag', () => {
    expect(
      issuesOf(() => parseInput(SendTextSchema, { ...base, text: 'x', category: 'promo' }, 'sendText'))[0]?.path,
    ).toBe('category');
    expect(
      issuesOf(() => parseInput(SendTextSchema, { ...base, text: 'x', tag: 'human_agent' }, 'sendText'))[0]?.path,
    ).toBe('tag');
  });

  it('refuses unknown fields, so a typo is not silently dropped', () => {
    expect(() => parseInput(SendTextSchema, { ...base, text: 'x', clientref: 'r' }, 'sendText')).toThrow(
      ValidationError,
    );
  });

  it('refuses an http webhookUrl and accepts an https one', () => {
    expect(() =>
      parseInput(SendTextSchema, { ...base, text: 'x', webhookUrl: 'https://example.com/status' }, 'sendText'),
    ).not.toThrow();
    expect(
      issuesOf(() =>
        parseInput(SendTextSchema, { ...base, text: 'x', webhookUrl: 'http://example.com/status' }, 'sendText'),
      )[0]?.path,
    ).toBe('webhookUrl');
  });

  it('does not echo the text in the error message', () => {
    const secretText = `${'s'.repeat(641)}`;
    try {
      parseInput(SendTextSchema, { ...base, text: secretText }, 'sendText');
    } catch (error) {
      expect((error as Error).message).not.toContain(secretText);
    }
  });
});

describe('media input', () => {
  const schemas = { image: SendImageSchema, video: SendVideoSchema, file: SendFileSchema, audio: SendAudioSchema };

  it.each(Object.entries(schemas))('%s accepts an https URL', (_, schema) => {
    expect(parseInput(schema, { ...base, url: 'https://example.com/media/a.mp3' }, 'send').url).toBe(
      'https://example.com/media/a.mp3',
    );
  });

  it.each(Object.entries(schemas))('%s refuses http, relative and malformed URLs', (_, schema) => {
    for (const url of ['http://example.com/a.png', '/a.png', 'https://', 'ftp://example.com/a', '']) {
      expect(() => parseInput(schema, { ...base, url }, 'send'), url).toThrow(ValidationError);
    }
  });

  it.each(Object.entries(schemas))('%s refuses a URL over 2000 characters and accepts 2000', (_, schema) => {
    const prefix = 'https://example.com/';
    expect(() => parseInput(schema, { ...base, url: prefix + 'a'.repeat(2000 - prefix.length) }, 'send')).not.toThrow();
    expect(() => parseInput(schema, { ...base, url: prefix + 'a'.repeat(2001 - prefix.length) }, 'send')).toThrow(
      ValidationError,
    );
  });

  it('audio refuses a URL under 10 characters', () => {
    expect(() => parseInput(SendAudioSchema, { ...base, url: 'https://a' }, 'sendAudio')).toThrow(ValidationError);
    expect(() => parseInput(SendImageSchema, { ...base, url: 'https://a' }, 'sendImage')).not.toThrow();
  });

  it('media refuses text', () => {
    expect(() => parseInput(SendImageSchema, { ...base, url: 'https://example.com/a.png', text: 'x' }, 'send')).toThrow(
      ValidationError,
    );
  });
});

describe('canSend input', () => {
  it('applies the same tag and category rules', () => {
    expect(() => parseInput(CanSendSchema, { ...base, tag: 'HUMAN_AGENT', category: 'update' }, 'canSend')).toThrow(
      ValidationError,
    );
    expect(parseInput(CanSendSchema, { ...base }, 'canSend')).toEqual({ from: PAGE, to: USER });
  });
});
