/**
 * bytes.ts uses Buffer where it exists and Web APIs elsewhere (Workers): both paths must give
 * the same results. The Web path is loaded with the Buffer global removed.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as withBuffer from '../src/bytes.js';

let web: typeof withBuffer;

beforeAll(async () => {
  vi.stubGlobal('Buffer', undefined);
  vi.resetModules();
  web = await import('../src/bytes.js');
  vi.unstubAllGlobals();
});
afterAll(() => {
  vi.unstubAllGlobals();
});

describe('bytes without Buffer (the Workers path) agree with Buffer', () => {
  it('UTF-8 decoding and length, including lone surrogates and invalid bytes', () => {
    // A second instance of the module, which found no Buffer when it loaded.
    expect(web).not.toBe(withBuffer);
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.uint8Array(), (text, bytes) => {
        expect(web.utf8Length(text)).toBe(Buffer.byteLength(text));
        expect(web.utf8Decode(bytes)).toBe(Buffer.from(bytes).toString('utf8'));
        expect(web.utf8Decode(withBuffer.utf8Encode(text))).toBe(withBuffer.utf8Decode(withBuffer.utf8Encode(text)));
      }),
    );
  });

  it('base64url decoding, including characters outside the alphabet and a lone last character', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'AZaz09-_+/=.~ '.split('')) }),
        fc.uint8Array(),
        (text, bytes) => {
          expect([...web.base64urlDecode(text)]).toEqual([...Buffer.from(text, 'base64url')]);
          const encoded = Buffer.from(bytes).toString('base64url');
          expect([...web.base64urlDecode(encoded)]).toEqual([...bytes]);
          expect(web.base64urlEncode(bytes)).toBe(encoded);
          expect(web.base64urlEncode(bytes, true)).toBe(Buffer.from(bytes).toString('base64'));
        },
      ),
    );
  });

  it('concatenation', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array()), (chunks) => {
        const total = chunks.reduce((n, c) => n + c.byteLength, 0);
        expect([...web.concatBytes(chunks, total)]).toEqual([...Buffer.concat(chunks, total)]);
      }),
    );
  });
});

describe('base64urlText (the hand-tuned claims decode)', () => {
  it('gives what Buffer decodes, for encodings of any text or bytes and for junk', () => {
    const encoded = fc.oneof(
      fc.string({ unit: 'binary' }).map((text) => Buffer.from(text, 'utf8').toString('base64url')),
      fc.string({ unit: 'grapheme-ascii' }).map((text) => Buffer.from(text, 'utf8').toString('base64url')),
      fc.uint8Array().map((bytes) => Buffer.from(bytes).toString('base64url')),
      fc.uint8Array().map((bytes) => Buffer.from(bytes).toString('base64')),
      fc.string(),
    );
    fc.assert(
      fc.property(encoded, (text) => {
        const expected = Buffer.from(text, 'base64url').toString('utf8');
        expect(withBuffer.base64urlText(text)).toBe(expected);
        expect(web.base64urlText(text)).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });
});
