/**
 * The `Authorization` header for sends. A JWT is signed (RS256) once and reused until shortly
 * before it expires, instead of once per request as the Vonage SDK does: signing costs about
 * a millisecond of CPU, which would cap throughput. Basic auth is computed once.
 *
 * Token lifetime is real time (`Date.now`), never the messenger's `now` option: that clock
 * may be moved for tests and demos, but Vonage checks `exp` against its own clock.
 *
 * @module
 */
import { tokenGenerate } from '@vonage/jwt';

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
  /** The signer (tests count calls). Default `tokenGenerate` from `@vonage/jwt`. */
  sign?: (applicationId: string, privateKey: string | Buffer, options: { ttl: number }) => string;
  /** Real-time clock in ms. Default `Date.now`. */
  clock?: () => number;
}

/**
 * A cached bearer JWT for application `applicationId`.
 *
 * @example
 * ```ts
 * const auth = jwtAuth({ applicationId, privateKey: fs.readFileSync('private.key') })
 * fetch(url, { headers: { authorization: auth.header() } })
 * ```
 */
export function jwtAuth(options: JwtAuthOptions): AuthProvider {
  const ttlSeconds = options.ttlSeconds ?? 900;
  const renewBeforeMs = Math.min((options.renewBeforeSeconds ?? 60) * 1000, (ttlSeconds * 1000) / 2);
  const sign = options.sign ?? tokenGenerate;
  const clock = options.clock ?? Date.now;
  const { applicationId, privateKey } = options;
  let cached = '';
  let renewAt = 0;

  const auth: AuthProvider = {
    kind: 'jwt',
    header() {
      const t = clock();
      if (t < renewAt) return cached;
      // tokenGenerate sets iat = now (whole seconds) and exp = iat + ttl.
      const issuedAt = Math.floor(t / 1000) * 1000;
      cached = `Bearer ${sign(applicationId, privateKey, { ttl: ttlSeconds })}`;
      renewAt = issuedAt + ttlSeconds * 1000 - renewBeforeMs;
      return cached;
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
 *
 * @example
 * ```ts
 * const auth = basicAuth('abcd1234', process.env.VONAGE_API_SECRET!)
 * ```
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
