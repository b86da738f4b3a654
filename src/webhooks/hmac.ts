/**
 * The hand-tuned crypto of webhook verification, behind three small functions: HMAC-SHA256
 * with a per-process key cache, and SHA-256 hex of the body. A Web Crypto variant (Workers)
 * can replace this module without touching the checks in verify.ts: the Workers build swaps in
 * hmac-web.ts, the same functions on Web Crypto.
 *
 * @module
 */
import * as nodeCrypto from 'node:crypto';
import { createHash, createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';

/** Longest signing input a key's buffer has room for (verify.ts refuses longer tokens first). */
const MAX_SIGNING_INPUT = 4096;

// One-shot hashing (Node >= 20.12) skips the Hash/Hmac stream objects createHash and
// createHmac build per call: about half the cost for a webhook-sized input. Older Node falls
// back to createHash/createHmac.
const oneShotHash: ((algorithm: string, data: string | Uint8Array, encoding: 'hex' | 'latin1') => string) | undefined =
  typeof (nodeCrypto as { hash?: unknown }).hash === 'function'
    ? (nodeCrypto as unknown as { hash: (a: string, d: string | Uint8Array, e: 'hex' | 'latin1') => string }).hash
    : undefined;

const SHA256_BLOCK = 64;

/**
 * A signature secret prepared for HMAC-SHA256 (RFC 2104): `H((K ^ opad) || H((K ^ ipad) || m))`.
 * The padded keys are written once into buffers that the message and inner digest are then
 * written after, so that a signature costs two one-shot hashes and no allocation of its own.
 */
export interface HmacKey {
  /** For the createHmac fallback. */
  readonly key: KeyObject;
  /** K ^ ipad, then room for the longest token's signing input in UTF-8. */
  readonly inner: Buffer | undefined;
  /** K ^ opad, then the 32-byte inner digest. */
  readonly outer: Buffer | undefined;
  /** The last signature computed with this key (overwritten by the next one). */
  readonly result: Buffer;
}

export function prepareHmac(secret: string): HmacKey {
  const raw = Buffer.from(secret, 'utf8');
  const key = createSecretKey(raw);
  if (oneShotHash === undefined) return { key, inner: undefined, outer: undefined, result: Buffer.alloc(32) };
  // A key longer than the block is replaced by its hash; a shorter one is zero-padded.
  const block = raw.length > SHA256_BLOCK ? Buffer.from(oneShotHash('sha256', raw, 'latin1'), 'latin1') : raw;
  // A UTF-16 code unit is at most 3 UTF-8 bytes, so any accepted token fits.
  const inner = Buffer.alloc(SHA256_BLOCK + 3 * MAX_SIGNING_INPUT);
  const outer = Buffer.alloc(SHA256_BLOCK + 32);
  for (let i = 0; i < SHA256_BLOCK; i++) {
    const byte = i < block.length ? (block[i] as number) : 0;
    inner[i] = byte ^ 0x36;
    outer[i] = byte ^ 0x5c;
  }
  return { key, inner, outer, result: Buffer.alloc(32) };
}

/** HMAC-SHA256 of `message` (as UTF-8, like `createHmac().update(string)`), in `key.result`. */
export function hmacSha256(key: HmacKey, message: string): Buffer {
  const { inner, outer } = key;
  if (oneShotHash === undefined || inner === undefined || outer === undefined) {
    return createHmac('sha256', key.key).update(message).digest();
  }
  const length = inner.write(message, SHA256_BLOCK, 'utf8');
  outer.write(oneShotHash('sha256', inner.subarray(0, SHA256_BLOCK + length), 'latin1'), SHA256_BLOCK, 'latin1');
  key.result.write(oneShotHash('sha256', outer, 'latin1'), 0, 'latin1');
  return key.result;
}

/** SHA-256 of the exact bytes received (a string is hashed as its UTF-8 bytes), as hex. */
export function sha256Hex(body: string | Uint8Array): string {
  if (oneShotHash !== undefined) return oneShotHash('sha256', body, 'hex');
  return typeof body === 'string'
    ? createHash('sha256').update(body, 'utf8').digest('hex')
    : createHash('sha256').update(body).digest('hex');
}

// Secrets are prepared once per process, however many verifiers are made from them.
const keyCache = new Map<string, HmacKey>();
const KEY_CACHE_SIZE = 32;

export function keyFor(secret: string): HmacKey {
  let key = keyCache.get(secret);
  if (key === undefined) {
    key = prepareHmac(secret);
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
 * Does any key sign `signingInput` to `given` (32 bytes)? Every key is tried (no early exit),
 * so timing does not reveal which secret matched.
 */
export function signatureMatches(keys: readonly HmacKey[], signingInput: string, given: Uint8Array): boolean {
  let ok = false;
  for (const key of keys) {
    if (timingSafeEqual(hmacSha256(key, signingInput), given)) ok = true;
  }
  return ok;
}
