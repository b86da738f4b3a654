/**
 * UTF-8 and base64 for every runtime. Node's `Buffer` is used where it exists (Node, Bun,
 * Deno): it is the fastest there, and the webhook hot path runs through these. Elsewhere
 * (Workers, browsers) `TextEncoder`/`TextDecoder` and `atob`/`btoa` do the same work, so no
 * module on the way to the Worker entry needs the `Buffer` global.
 *
 * @module
 */

type NodeBuffer = {
  from(data: ArrayBufferLike, offset: number, length: number): { toString(encoding: 'utf8'): string };
  from(text: string, encoding: 'base64url' | 'utf8'): Uint8Array & { toString(encoding: string): string };
  byteLength(text: string, encoding: 'utf8'): number;
  concat(chunks: readonly Uint8Array[], total: number): Uint8Array;
};
const NodeBuffer = (globalThis as { Buffer?: NodeBuffer }).Buffer;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Bytes as UTF-8 text (invalid sequences become U+FFFD, as with `Buffer#toString`).
 */
export function utf8Decode(bytes: Uint8Array): string {
  if (NodeBuffer !== undefined)
    return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  return decoder.decode(bytes);
}

/**
 * The UTF-8 length of a string, in bytes.
 */
export function utf8Length(text: string): number {
  if (NodeBuffer !== undefined) return NodeBuffer.byteLength(text, 'utf8');
  return encoder.encode(text).byteLength;
}

/**
 * The UTF-8 bytes of a string.
 */
export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Joins chunks of a known total length.
 */
export function concatBytes(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (NodeBuffer !== undefined) return NodeBuffer.concat(chunks, total);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * base64url (or base64) text to bytes, exactly as `Buffer.from(text, 'base64url')` decodes it:
 * characters outside the alphabet are skipped (a caller checks the decoded length).
 */
export function base64urlDecode(text: string): Uint8Array {
  if (NodeBuffer !== undefined) return NodeBuffer.from(text, 'base64url');
  // Like Buffer: decoding stops at the first padding character.
  const end = text.indexOf('=');
  const clean = (end === -1 ? text : text.slice(0, end))
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .replace(/[^A-Za-z0-9+/]/g, '');
  // A lone trailing character carries fewer than 8 bits: Buffer drops it, so does this.
  const usable = clean.length % 4 === 1 ? clean.slice(0, -1) : clean;
  const binary = atob(usable + '='.repeat((4 - (usable.length % 4)) % 4));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

const BASE64URL_ONLY = /^[A-Za-z0-9_-]*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: any code unit past ASCII
const PAST_ASCII = /[^\x00-\x7f]/;

/**
 * The UTF-8 text that base64url `text` encodes, exactly as `utf8Decode(base64urlDecode(text))`
 * gives it. Hand-tuned for a webhook token's claims (ASCII JSON, a few hundred characters,
 * on every webhook): `atob` decodes them in about half the time of a `Buffer` plus its UTF-8
 * decode. Anything `atob` could read differently (a character outside the alphabet, a length
 * `Buffer` would truncate, a byte past ASCII) takes the `Buffer` path.
 */
export function base64urlText(text: string): string {
  if (text.length % 4 !== 1 && BASE64URL_ONLY.test(text)) {
    const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    if (!PAST_ASCII.test(binary)) return binary;
  }
  return utf8Decode(base64urlDecode(text));
}

/**
 * Bytes (or a string, as UTF-8) as base64url without padding, or (`standard`) as padded base64.
 */
export function base64urlEncode(data: string | Uint8Array, standard = false): string {
  const bytes = typeof data === 'string' ? encoder.encode(data) : data;
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  const b64 = btoa(binary);
  return standard ? b64 : b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
