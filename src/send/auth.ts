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
import { createPrivateKey, sign as cryptoSign, type KeyObject, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ValidationError } from '../errors.js';

/** Supplies the `Authorization` header value for one request. Synchronous and cheap. */
export interface AuthProvider {
  /** `Bearer …` or `Basic …`. */
  header(): string;
  /** Drops a cached token (after a 401) so the next request signs a fresh one. */
  invalidate(): void;
  /** `jwt` or `basic`, for logs and docs; never the credential. */
  readonly kind: 'jwt' | 'basic';
}

/** Options of {@link jwtAuth}. */
export interface JwtAuthOptions {
  applicationId: string;
  /** PEM contents (string or Buffer). */
  privateKey: string | Buffer;
  /** Token lifetime in seconds. Default 900 (Vonage's default; it honours at most 24 h). */
  ttlSeconds?: number;
  /** Renew this many seconds before `exp`, so that no request carries a token about to expire. Default 60. */
  renewBeforeSeconds?: number;
  /** The signer (tests count calls). Default {@link signRs256}. */
  sign?: (claims: JwtClaims, key: KeyObject) => string;
  /** Real-time clock in ms. Default `Date.now`. */
  clock?: () => number;
}

/**
 * A cached bearer JWT for application `applicationId`.
 *
 * @throws ValidationError when `privateKey` is not a PEM private key, or is not an RSA key of
 *   2048 bits or more (Vonage signs with RS256); the message never contains the key.
 */
export function jwtAuth(options: JwtAuthOptions): AuthProvider {
  const ttlSeconds = options.ttlSeconds ?? 900;
  const renewBeforeMs = Math.min((options.renewBeforeSeconds ?? 60) * 1000, (ttlSeconds * 1000) / 2);
  const sign = options.sign ?? signRs256;
  const clock = options.clock ?? Date.now;
  const { applicationId } = options;
  const key = rs256Key(options.privateKey);
  let cached = '';
  let renewAt = 0;

  const auth: AuthProvider = {
    kind: 'jwt',
    header() {
      const t = clock();
      if (t < renewAt) return cached;
      const iat = Math.floor(t / 1000);
      cached = `Bearer ${sign({ jti: randomUUID(), iat, exp: iat + ttlSeconds, application_id: applicationId }, key)}`;
      renewAt = iat * 1000 + ttlSeconds * 1000 - renewBeforeMs;
      return cached;
    },
    invalidate() {
      renewAt = 0;
    },
  };
  return hideSecrets(auth);
}

/**
 * The claims of the send JWT: exactly those (and in the order) `@vonage/jwt`'s `tokenGenerate`
 * puts in, so that Vonage sees the same token it documents.
 */
export interface JwtClaims {
  /** A fresh UUID per token. */
  jti: string;
  /** Issued at, epoch seconds. */
  iat: number;
  /** Expiry, epoch seconds: `iat` + the ttl. */
  exp: number;
  application_id: string;
}

// Constant: the header never changes, so it is encoded once.
const RS256_HEADER = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url');

/**
 * Signs `claims` as a compact RS256 JWT (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3) with
 * `node:crypto`. The default signer of {@link jwtAuth}; `key` must be an RSA private key.
 */
export function signRs256(claims: JwtClaims, key: KeyObject): string {
  const input = `${RS256_HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${cryptoSign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

/**
 * Parses the key once and refuses, before any send, one that cannot sign RS256. The messages
 * name the key's type and size, never its contents.
 */
function rs256Key(privateKey: string | Buffer): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKey);
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

/**
 * Basic auth with the account's API key and secret. Vonage accepts it for the Messages API,
 * but then uses the account-level webhook URLs, not the application's (JWT is recommended).
 */
export function basicAuth(apiKey: string, apiSecret: string): AuthProvider {
  const value = `Basic ${Buffer.from(`${apiKey}:${apiSecret}`).toString('base64')}`;
  return hideSecrets({ kind: 'basic', header: () => value, invalidate: () => {} });
}

/** Keeps credentials out of `console.log(auth)` and `JSON.stringify(auth)`: they live only in closures. */
function hideSecrets(auth: AuthProvider): AuthProvider {
  Object.defineProperty(auth, Symbol.for('nodejs.util.inspect.custom'), {
    value: () => `AuthProvider(${auth.kind})`,
  });
  Object.defineProperty(auth, 'toJSON', { value: () => ({ kind: auth.kind }) });
  return Object.freeze(auth);
}

/** Reads the key: PEM text (also with `\n` escapes from an env var), a Buffer, or a file path. Never echoes it. */
export function loadPrivateKey(value: string | Buffer): string | Buffer {
  let key: string | Buffer = value;
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
    createPrivateKey(key);
  } catch {
    throw new ValidationError('privateKey is not a valid PEM private key', [
      { path: 'privateKey', message: 'not a valid PEM private key' },
    ]);
  }
  return key;
}
