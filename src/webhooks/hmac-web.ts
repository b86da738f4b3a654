/**
 * hmac.ts for runtimes without `node:crypto` (the Workers build swaps it in): the same
 * HMAC-SHA256 signature check and SHA-256 body hash on Web Crypto, which is asynchronous,
 * so both resolve later and `verifier.check` returns a Promise there.
 *
 * @module
 */
import { utf8Encode } from '../bytes.js';

/** A signature secret imported for HMAC-SHA256 verification, once. */
export type HmacKey = Promise<CryptoKey>;

// Secrets are imported once per isolate, however many verifiers are made from them.
const keyCache = new Map<string, HmacKey>();
const KEY_CACHE_SIZE = 32;

/** The Web Crypto key of one secret; a copy of hmac.ts's cache, for CryptoKeys. */
function keyFor(secret: string): HmacKey {
  let key = keyCache.get(secret);
  if (key === undefined) {
    key = crypto.subtle.importKey(
      'raw',
      utf8Encode(secret) as Uint8Array<ArrayBuffer>,
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['verify'],
    );
    if (keyCache.size >= KEY_CACHE_SIZE) keyCache.clear();
    keyCache.set(secret, key);
  }
  return key;
}

/**
 * The prepared keys of a list of secrets.
 */
export function hmacKeys(secrets: readonly string[]): HmacKey[] {
  return secrets.map(keyFor);
}

/**
 * Does any key sign `signingInput` to `given` (32 bytes)? `crypto.subtle.verify` compares
 * in constant time, and every key is tried, so timing does not reveal which secret matched.
 */
export async function signatureMatches(
  keys: readonly HmacKey[],
  signingInput: string,
  given: Uint8Array,
): Promise<boolean> {
  const data = utf8Encode(signingInput) as Uint8Array<ArrayBuffer>;
  const results = await Promise.all(
    keys.map(async (key) => crypto.subtle.verify('HMAC', await key, given as Uint8Array<ArrayBuffer>, data)),
  );
  return results.includes(true);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * SHA-256 of the exact bytes received (a string is hashed as its UTF-8 bytes), as hex.
 */
export async function sha256Hex(body: string | Uint8Array): Promise<string> {
  const bytes = typeof body === 'string' ? utf8Encode(body) : body;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (const byte of digest) hex += HEX[byte];
  return hex;
}
