/**
 * How the sandbox checks `Authorization` on `POST /v1/messages`, as Vonage does for the
 * Messages API: a bearer JWT signed RS256 with the application's private key (claims
 * `application_id`, `iat`, `jti`, optional `exp`; without `exp` a token lives 15 minutes,
 * never more than 24 hours after `iat`, and one with neither `iat` nor `exp` is refused), or
 * Basic `api_key:api_secret`.
 *
 * A credential kind the sandbox was given nothing to check against (no `publicKey`, no
 * `basicAuth`) is accepted when well formed, so a quick test needs no keys; give them to test
 * the failures. Token lifetime is checked against real time, never the sandbox's movable
 * clock: Vonage checks `exp` with its own clock.
 *
 * Sources: Vonage authentication guide (https://developer.vonage.com/en/getting-started/concepts/authentication),
 * support article "How long is a JWT valid?" (https://api.support.vonage.com/hc/en-us/articles/360000958407).
 *
 * @module
 */
import { createPublicKey, type KeyObject, timingSafeEqual, verify } from 'node:crypto';

/** The credential kind of a request, as `sandbox.requests` records it. */
export type AuthKind = 'jwt' | 'basic' | 'none' | 'other';

/** What the sandbox checks credentials against. */
export interface SandboxAuthConfig {
  /** The application's public key (PEM or KeyObject): JWT signatures are verified with it. */
  publicKey?: string | Buffer | KeyObject;
  /** When set, a JWT's `application_id` must equal it. */
  applicationId?: string;
  /** When set, Basic credentials must equal these. */
  basicAuth?: { apiKey: string; apiSecret: string };
}

/** Result of {@link checkAuthorization}. */
export type AuthOutcome = { ok: true; kind: AuthKind } | { ok: false; kind: AuthKind; reason: string };

/** Lifetime of a token without `exp` (Vonage: 15 minutes). */
const DEFAULT_TTL_SECONDS = 15 * 60;
/** Vonage honours a token at most this long after `iat`. */
const MAX_AGE_SECONDS = 24 * 60 * 60;
/** Tolerated clock skew for an `iat` in the future. */
const SKEW_SECONDS = 5 * 60;

function decodeSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const sameText = (a: string, b: string): boolean => {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
};

/** Prepares a checker for `Authorization` headers; the public key is parsed once. */
export function createAuthChecker(
  config: SandboxAuthConfig,
  clock: () => number = Date.now,
): (header: string | undefined) => AuthOutcome {
  const publicKey =
    config.publicKey === undefined
      ? undefined
      : typeof config.publicKey === 'string' || Buffer.isBuffer(config.publicKey)
        ? createPublicKey(config.publicKey)
        : config.publicKey;

  const checkJwt = (token: string): AuthOutcome => {
    const refuse = (reason: string): AuthOutcome => ({ ok: false, kind: 'jwt', reason });
    const parts = token.split('.');
    if (parts.length !== 3) return refuse('the token is not a JWT');
    const [head, payload, signature] = parts as [string, string, string];
    const header = decodeSegment(head);
    const claims = decodeSegment(payload);
    if (header === undefined || claims === undefined) return refuse('the token is not base64url JSON');
    if (header.alg !== 'RS256') return refuse(`the token algorithm ${String(header.alg)} is not RS256`);
    if (typeof claims.application_id !== 'string' || claims.application_id === '') {
      return refuse('the token has no application_id');
    }
    if (config.applicationId !== undefined && claims.application_id !== config.applicationId) {
      return refuse('the token is for another application');
    }
    const iat = typeof claims.iat === 'number' ? claims.iat : undefined;
    const exp = typeof claims.exp === 'number' ? claims.exp : undefined;
    if (iat === undefined && exp === undefined) return refuse('the token has neither iat nor exp');
    const now = clock() / 1000;
    if (iat !== undefined && iat > now + SKEW_SECONDS) return refuse('the token was issued in the future');
    if (iat !== undefined && now - iat > MAX_AGE_SECONDS) return refuse('the token is older than 24 hours');
    const expiresAt = exp ?? (iat as number) + DEFAULT_TTL_SECONDS;
    if (now >= expiresAt) return refuse('the token has expired');
    if (publicKey !== undefined) {
      const valid = verify('sha256', Buffer.from(`${head}.${payload}`), publicKey, Buffer.from(signature, 'base64url'));
      if (!valid) return refuse('the token signature does not match the public key');
    }
    return { ok: true, kind: 'jwt' };
  };

  const checkBasic = (encoded: string): AuthOutcome => {
    const refuse = (reason: string): AuthOutcome => ({ ok: false, kind: 'basic', reason });
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0 || colon === decoded.length - 1) return refuse('Basic credentials are not api_key:api_secret');
    if (config.basicAuth !== undefined) {
      const key = decoded.slice(0, colon);
      const secret = decoded.slice(colon + 1);
      // Both compared, always: which half was wrong must not show in the timing.
      const keyOk = sameText(key, config.basicAuth.apiKey);
      const secretOk = sameText(secret, config.basicAuth.apiSecret);
      if (!keyOk || !secretOk) return refuse('wrong api_key or api_secret');
    }
    return { ok: true, kind: 'basic' };
  };

  return (header) => {
    if (header === undefined || header.trim() === '') {
      return { ok: false, kind: 'none', reason: 'no Authorization header' };
    }
    const space = header.indexOf(' ');
    const scheme = space < 0 ? header : header.slice(0, space);
    const value = space < 0 ? '' : header.slice(space + 1).trim();
    if (scheme.toLowerCase() === 'bearer') return checkJwt(value);
    if (scheme.toLowerCase() === 'basic') return checkBasic(value);
    return { ok: false, kind: 'other', reason: `unsupported scheme ${scheme}` };
  };
}
