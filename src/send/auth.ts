/**
 * The `Authorization` header for sends. A JWT is signed (RS256) once and reused until shortly
 * before it expires, instead of once per request as the Vonage SDK does: signing costs about
 * a millisecond of CPU, which would cap throughput. Basic auth is computed once.
 *
 * Token lifetime is real time (`Date.now`), never the messenger's `now` option: that clock
 * may be moved for tests and demos, but Vonage checks `exp` against its own clock.
 *
 * The JWT is signed with `node:crypto`, not `@vonage/jwt`: that package logs the private key
 * under `DEBUG=vonage:*`, and loading it (jsonwebtoken, lodash, semver, debug) was most of
 * this package's cold start. The key is parsed once, when the provider is created.
 *
 * @module
 */
import { createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ValidationError } from '../errors.js';
import {
  cachedJwt,
  type JwtCacheOptions,
  type JwtClaims,
  rs256SigningInput,
  type SyncAuthProvider,
} from './auth-shared.js';

export {
  type AuthProvider,
  basicAuth,
  type JwtCacheOptions,
  type JwtClaims,
  type SyncAuthProvider,
} from './auth-shared.js';

/** Options of {@link jwtAuth}. */
export interface JwtAuthOptions extends JwtCacheOptions {
  /** PEM contents (string or bytes). */
  privateKey: string | Uint8Array;
  /** The signer (tests count calls). Default {@link signRs256}. */
  sign?: (claims: JwtClaims, key: KeyObject) => string;
}

/**
 * A cached bearer JWT for application `applicationId`.
 *
 * @throws ValidationError when `privateKey` is not a PEM private key, or is not an RSA key of
 *   2048 bits or more (Vonage signs with RS256); the message never contains the key.
 */
export function jwtAuth(options: JwtAuthOptions): SyncAuthProvider {
  const sign = options.sign ?? signRs256;
  const key = rs256Key(options.privateKey);
  return cachedJwt(options, (claims) => sign(claims, key));
}

/**
 * Signs `claims` as a compact RS256 JWT (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3) with
 * `node:crypto`. The default signer of {@link jwtAuth}; `key` must be an RSA private key.
 */
export function signRs256(claims: JwtClaims, key: KeyObject): string {
  const input = rs256SigningInput(claims);
  return `${input}.${cryptoSign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

/**
 * Parses the key once and refuses, before any send, one that cannot sign RS256. The messages
 * name the key's type and size, never its contents.
 */
function rs256Key(privateKey: string | Uint8Array): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(asKeyInput(privateKey));
  } catch {
    throw new ValidationError('privateKey is not a valid PEM private key', [
      { path: 'privateKey', message: 'not a valid PEM private key' },
    ]);
  }
  const type = key.asymmetricKeyType;
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  // Plain RSA only: an RSA-PSS key would sign PS256, which Vonage rejects as RS256.
  if (type !== 'rsa' || bits < 2048) {
    const found = type === 'rsa' ? `an RSA key of ${bits} bits` : `a key of type ${type ?? 'unknown'}`;
    throw new ValidationError(
      `privateKey cannot sign an RS256 JWT: it is ${found}; Vonage needs the RSA private key (2048 bits or more) generated for the application`,
      [{ path: 'privateKey', message: 'cannot sign an RS256 JWT' }],
    );
  }
  return key;
}

/** node:crypto's key input: a string or a Buffer over the same bytes (no copy). */
const asKeyInput = (key: string | Uint8Array): string | Buffer =>
  typeof key === 'string' ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength);

/**
 * Reads the key: PEM text (also with `\n` escapes from an env var), bytes, or a file path.
 * Never echoes it.
 */
export function loadPrivateKey(value: string | Uint8Array): string | Uint8Array {
  let key: string | Uint8Array = value;
  if (typeof value === 'string') {
    if (value.includes('-----BEGIN')) {
      key = value.includes('\n') ? value : value.replace(/\\n/g, '\n');
    } else {
      try {
        key = readFileSync(value);
      } catch {
        throw new ValidationError('privateKey is neither PEM text nor a readable file path', [
          { path: 'privateKey', message: 'not PEM text and not a readable file' },
        ]);
      }
    }
  }
  try {
    createPrivateKey(asKeyInput(key));
  } catch {
    throw new ValidationError('privateKey is not a valid PEM private key', [
      { path: 'privateKey', message: 'not a valid PEM private key' },
    ]);
  }
  return key;
}
