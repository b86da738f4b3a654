/**
 * What both JWT signers share (auth.ts on `node:crypto`, auth-web.ts on Web Crypto): the
 * `AuthProvider` contract, the token cache, the claims and their encoding, Basic auth. No
 * Node import, so that the Worker build can use it.
 *
 * @module
 */
import { base64urlEncode } from '../bytes.js';

/**
 * Supplies the `Authorization` header value for one request. Cheap once a token is cached;
 * where signing is asynchronous (Web Crypto) the first call, and each renewal, returns a Promise.
 */
export interface AuthProvider {
  /** `Bearer …` or `Basic …`. */
  header(): string | Promise<string>;
  /** Drops a cached token (after a 401) so the next request signs a fresh one. */
  invalidate(): void;
  /** `jwt` or `basic`, for logs and docs; never the credential. */
  readonly kind: 'jwt' | 'basic';
}

/** An {@link AuthProvider} whose header is always at hand (node:crypto signing, Basic). */
export interface SyncAuthProvider extends AuthProvider {
  header(): string;
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

/** Token lifetime and renewal, shared by both signers. */
export interface JwtCacheOptions {
  applicationId: string;
  /** Token lifetime in seconds. Default 900 (Vonage's default; it honours at most 24 h). */
  ttlSeconds?: number;
  /** Renew this many seconds before `exp`, so that no request carries a token about to expire. Default 60. */
  renewBeforeSeconds?: number;
  /** Real-time clock in ms. Default `Date.now`. */
  clock?: () => number;
}

// Constant: the header never changes, so it is encoded once.
const RS256_HEADER = base64urlEncode(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));

/** `header.payload` of an RS256 JWT: what gets signed. */
export const rs256SigningInput = (claims: JwtClaims): string =>
  `${RS256_HEADER}.${base64urlEncode(JSON.stringify(claims))}`;

/**
 * A JWT signed once and reused until shortly before it expires. `sign` returns the compact
 * token, or a Promise of it; a pending signature is shared by the requests that wait for it.
 */
export function cachedJwt<T extends string | Promise<string>>(
  options: JwtCacheOptions,
  sign: (claims: JwtClaims) => T,
): AuthProvider & { header(): string | T } {
  const ttlSeconds = options.ttlSeconds ?? 900;
  const renewBeforeMs = Math.min((options.renewBeforeSeconds ?? 60) * 1000, (ttlSeconds * 1000) / 2);
  const clock = options.clock ?? Date.now;
  const { applicationId } = options;
  let cached = '';
  let renewAt = 0;
  let pending: Promise<string> | undefined;

  const auth = {
    kind: 'jwt' as const,
    header(): string | T {
      const t = clock();
      if (t < renewAt) return cached;
      if (pending !== undefined) return pending as T;
      const iat = Math.floor(t / 1000);
      const token = sign({ jti: crypto.randomUUID(), iat, exp: iat + ttlSeconds, application_id: applicationId });
      const store = (value: string) => {
        cached = `Bearer ${value}`;
        renewAt = iat * 1000 + ttlSeconds * 1000 - renewBeforeMs;
        return cached;
      };
      if (typeof token === 'string') return store(token);
      // A failed signature is not cached: the next request tries again (and fails the same way).
      pending = (token as Promise<string>).then(store).finally(() => {
        pending = undefined;
      });
      return pending as T;
    },
    invalidate() {
      renewAt = 0;
    },
  };
  return hideSecrets(auth);
}

/**
 * Basic auth with the account's API key and secret. Vonage accepts it for the Messages API,
 * but then uses the account-level webhook URLs, not the application's (JWT is recommended).
 */
export function basicAuth(apiKey: string, apiSecret: string): SyncAuthProvider {
  const value = `Basic ${base64urlEncode(`${apiKey}:${apiSecret}`, true)}`;
  return hideSecrets({ kind: 'basic', header: () => value, invalidate: () => {} });
}

/** Keeps credentials out of `console.log(auth)` and `JSON.stringify(auth)`: they live only in closures. */
export function hideSecrets<A extends AuthProvider>(auth: A): A {
  Object.defineProperty(auth, Symbol.for('nodejs.util.inspect.custom'), {
    value: () => `AuthProvider(${auth.kind})`,
  });
  Object.defineProperty(auth, 'toJSON', { value: () => ({ kind: auth.kind }) });
  return Object.freeze(auth);
}
