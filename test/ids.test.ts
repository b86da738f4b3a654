import { describe, expect, it } from 'vitest';
import { ValidationError } from '../src/errors.js';
import {
  type ConversationKey,
  conversationKey,
  MAX_ID_DIGITS,
  PageIdSchema,
  PsidSchema,
  pageId,
  parseConversationKey,
  psid,
} from '../src/ids.js';

/** Runs `fn`, expects a ValidationError, returns it for further checks. */
function validationErrorOf(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('expected a ValidationError, nothing was thrown');
}

const parsers = [
  ['psid', psid, 'PSID'],
  ['pageId', pageId, 'Page ID'],
] as const;

describe.each(parsers)('%s()', (_name, parse, label) => {
  it.each([
    ['a 16-digit sample', '1254459154682919'],
    ['a 17-digit PSID beyond 2^53, exactly', '23037543461244470'],
    ['leading zeros, kept', '000123'],
    ['a single digit', '7'],
    ['the longest accepted ID', '9'.repeat(MAX_ID_DIGITS)],
  ])('accepts %s', (_what, value) => {
    expect(parse(value)).toBe(value);
  });

  it('accepts a safe integer number and returns its digits', () => {
    expect(parse(1029)).toBe('1029');
    expect(parse(Number.MAX_SAFE_INTEGER)).toBe('9007199254740991');
    expect(parse(0)).toBe('0');
  });

  it('accepts a bigint, beyond 2^53, exactly', () => {
    expect(parse(23037543461244470n)).toBe('23037543461244470');
  });

  it.each([
    ['an empty string', '', 'must not be empty'],
    ['letters', 'abc', 'only the digits 0-9'],
    ['digits mixed with letters', '12a4', 'only the digits 0-9'],
    ['a leading space', ' 123', 'only the digits 0-9'],
    ['a trailing newline', '123\n', 'only the digits 0-9'],
    ['an inner space', '12 34', 'only the digits 0-9'],
    ['a plus sign', '+123', 'only the digits 0-9'],
    ['a minus sign', '-123', 'only the digits 0-9'],
    ['a decimal point', '12.0', 'only the digits 0-9'],
    ['an exponent', '1e5', 'only the digits 0-9'],
    ['Arabic-Indic digits', '١٢٣', 'only the digits 0-9'],
    ['full-width digits', '１２３', 'only the digits 0-9'],
    ['one digit too many', '9'.repeat(MAX_ID_DIGITS + 1), `longer than ${MAX_ID_DIGITS} digits`],
    ['an absurdly long string', '1'.repeat(10_000), `longer than ${MAX_ID_DIGITS} digits`],
  ])('rejects %s with a ValidationError naming the problem', (_what, value, problem) => {
    const err = validationErrorOf(() => parse(value));
    expect(err.code).toBe('VALIDATION_ERROR');
    expect(err.message).toContain(label);
    expect(err.issues.map((i) => i.message).join(' | ')).toContain(problem);
  });

  it.each([
    // 23037543461244470 is not representable: the literal already became ...468.
    ['a number that lost precision', 23037543461244470, 'not exact'],
    ['a number just past 2^53', 2 ** 53, 'not exact'],
    ['a negative number', -5, 'must not be negative'],
    ['a decimal number', 1.5, 'not a whole number'],
    ['a negative bigint', -5n, 'must not be negative'],
    ['NaN', Number.NaN, 'must be a string of digits'],
    ['Infinity', Number.POSITIVE_INFINITY, 'must be a string of digits'],
    ['null', null, 'must be a string of digits'],
    ['undefined', undefined, 'must be a string of digits'],
    ['an object', { id: '123' }, 'must be a string of digits'],
    ['an array', ['123'], 'must be a string of digits'],
    ['a boolean', true, 'must be a string of digits'],
  ])('rejects %s with a ValidationError naming the problem', (_what, value, problem) => {
    const err = validationErrorOf(() => parse(value));
    expect(err.issues.length).toBeGreaterThan(0);
    expect(err.issues.map((i) => i.message).join(' | ')).toContain(problem);
    expect(err.message).toContain(problem);
  });

  it('keeps the 17-digit PSID of a JSON body exact when read as a string', () => {
    const body = JSON.parse('{"from":"23037543461244470"}') as { from: string };
    expect(parse(body.from)).toBe('23037543461244470');
    // The same ID read as a JSON number is no longer that ID (String() even hides it, as it
    // prints the shortest round-trip form), and is refused rather than silently rounded.
    const lossy = JSON.parse('{"from":23037543461244470}') as { from: number };
    expect(BigInt(lossy.from)).not.toBe(23037543461244470n);
    validationErrorOf(() => parse(lossy.from));
  });
});

describe('zod schemas', () => {
  it('PsidSchema and PageIdSchema parse like psid() and pageId() for use inside larger schemas', () => {
    expect(PsidSchema.parse('25381719828140932')).toBe('25381719828140932');
    expect(PageIdSchema.safeParse('abc').success).toBe(false);
    expect(PsidSchema.safeParse(2 ** 53).success).toBe(false);
  });
});

describe('conversationKey / parseConversationKey', () => {
  it('joins the Page ID and the PSID with a colon, Page first', () => {
    expect(conversationKey(pageId('102290129340398'), psid('25381719828140932'))).toBe(
      '102290129340398:25381719828140932',
    );
  });

  it('round-trips, leading zeros and 17-digit PSIDs included', () => {
    for (const [page, user] of [
      ['102290129340398', '25381719828140932'],
      ['0001', '0002'],
      ['1', '23037543461244470'],
    ] as const) {
      const key = conversationKey(pageId(page), psid(user));
      expect(parseConversationKey(key)).toEqual({ pageId: page, psid: user });
    }
  });

  it('gives different keys to the same PSID on two Pages', () => {
    const user = psid('123');
    expect(conversationKey(pageId('1'), user)).not.toBe(conversationKey(pageId('2'), user));
  });

  it.each([
    ['no colon', '123'],
    ['an empty Page ID', ':123'],
    ['an empty PSID', '123:'],
    ['a third part', '1:2:3'],
    ['letters', 'abc:def'],
  ])('refuses a key with %s', (_what, key) => {
    validationErrorOf(() => parseConversationKey(key as ConversationKey));
  });
});
