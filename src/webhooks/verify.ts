/**
 * Verification of Vonage's signed webhooks: an HS256 JWT in `Authorization: Bearer …`,
 * signed with the account's signature secret, whose `payload_hash` claim is the SHA-256 hex
 * of the raw body.
 *
 * Stricter than `@vonage/jwt`'s `verifySignature` (which checks only the signature and also
 * accepts RS256): HS256 only, constant-time signature comparison, `payload_hash` over the
 * exact bytes received, `iss`, `iat` freshness in both directions, `api_key` /
 * `application_id` when configured, and each `jti` only once. And cheaper: the HMAC keys are
 * prepared once per secret, the token is decoded by hand, nothing is re-serialized.
 *
 * The checks are split in two: {@link WebhookVerifier.check} is pure and synchronous (no
 * state), {@link WebhookVerifier.claim} records the `jti` in the store. Callers run `claim`
 * last, after every other check (including parsing) passed, so a forged or refused request
 * never burns a `jti` and never writes anything.
 *
 * Source: Vonage "Signed webhooks" (https://developer.vonage.com/en/getting-started/concepts/webhooks#signed-webhooks).
 *
 * @module
 */
import { base64urlDecode, base64urlText } from '../bytes.js';
import { ValidationError, WebhookVerificationError } from '../errors.js';
import { callStore } from '../store/guard.js';
import type { SessionStore } from '../store/types.js';
import { type HmacKey, hmacKeys, sha256Hex, signatureMatches } from './hmac.js';

/** The claims of a verified Vonage webhook token. */
export interface WebhookClaims {
  /** Issued at, epoch seconds. */
  readonly iat: number;
  /** Unique token id (a UUID), claimed once for replay protection. */
  readonly jti: string;
  /** Always `"Vonage"`. */
  readonly iss: string;
  /** SHA-256 hex of the body. */
  readonly payload_hash: string;
  /** The Vonage account's API key. */
  readonly api_key?: string;
  /** The Vonage application, when an application sent the message. */
  readonly application_id?: string;
  /** Every claim of the token, as decoded. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** Options of {@link createWebhookVerifier} and {@link verifyWebhookSignature}. */
export interface WebhookVerifierOptions {
  /** The signature secret from the Vonage Dashboard; several during a rotation (any one may match). */
  signatureSecret: string | readonly string[];
  /** When set, the token's `api_key` claim must equal it. */
  apiKey?: string | undefined;
  /** When set, the token's `application_id` claim must be present and equal it. */
  applicationId?: string | undefined;
  /** How far `iat` may be from now, in either direction, in seconds. Default 300. */
  toleranceSeconds?: number | undefined;
  /** Clock, epoch ms. Default `Date.now`. */
  now?: (() => number) | undefined;
  /**
   * Where each `jti` is claimed once (replay protection). Without a store, a replayed token
   * is not detected: pass the messenger's store (`messenger.receive` always does).
   */
  store?: SessionStore | undefined;
}

/** Headers as Fetch (`Headers`) or Node (`IncomingHttpHeaders`, plain records) carry them. */
export type WebhookHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

/** A verifier with its secrets prepared once. */
export interface WebhookVerifier {
  /** Full verification, including the one-time `jti` claim. Resolves to the claims. */
  verify(request: { headers: WebhookHeaders; body: string | Uint8Array }): Promise<WebhookClaims>;
  /**
   * Every check except the `jti` claim; pure. Synchronous where `node:crypto` exists (Node,
   * Bun, Deno); a Promise in the Workers build, whose Web Crypto is asynchronous (`await`
   * works for both).
   */
  check(token: string, body: string | Uint8Array, nowMs?: number): WebhookClaims | Promise<WebhookClaims>;
  /**
   * The token's header, signature and claims, without the body's hash: whether a body is worth
   * reading at all (the handler decodes a compressed body only after it). Never enough on its
   * own: the body is verified by {@link WebhookVerifier.check}.
   */
  checkToken(token: string, nowMs?: number): void | Promise<void>;
  /** Claims the token's `jti` once in the store; `replayed_token` the second time. */
  claim(claims: WebhookClaims): Promise<void>;
}

/** Default `iat` tolerance, seconds. */
export const DEFAULT_TOLERANCE_SECONDS = 300;
/** Longest accepted token. Vonage's are about 400 characters. */
export const MAX_TOKEN_LENGTH = 4096;

// base64url of {"alg":"HS256","typ":"JWT"}: what Vonage and jsonwebtoken send. Recognizing it
// by string equality skips decoding and parsing the header on the hot path.
const STANDARD_HEADER = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9';
// An HMAC-SHA256 signature is 32 bytes: 43 base64url characters without padding.
const SIGNATURE_LENGTH = 43;
const CANONICAL_LAST = 'AEIMQUYcgkosw048';
// Node's base64url decoder also accepts the standard alphabet (`+`, `/`): checked first, so
// that a signature has one spelling only.
const BASE64URL_SIGNATURE = /^[A-Za-z0-9_-]{43}$/;
/**
 * Clock-skew leeway for `exp` and `nbf`, seconds: small and fixed. (The `iat` tolerance is a
 * freshness window for replays, not a leeway for a token's own validity period.)
 */
export const EXP_NBF_LEEWAY_SECONDS = 30;

/** The store id under which a token's `jti` is claimed (shared by every verifier on a store). */
export const jtiClaimId = (jti: string): string => `jti:${jti}`;
/**
 * How much the clocks of processes sharing a store may differ for replay protection to hold:
 * a process whose clock runs behind the one that claimed a `jti` still finds the token fresh.
 */
export const JTI_CLOCK_MARGIN_MS = 60_000;
/**
 * How long a `jti` is remembered: past the last instant any process still finds the token
 * fresh. First used at `iat - tolerance` at the earliest, it is fresh up to `iat + tolerance`
 * inclusive, so the claim outlasts 2 × tolerance by the clock margin.
 */
export const jtiClaimTtlMs = (toleranceSeconds: number): number =>
  Math.ceil(2 * toleranceSeconds * 1000) + JTI_CLOCK_MARGIN_MS;
/** The message of a `replayed_token` refusal. */
export const REPLAYED = 'The token was already used (replayed jti)';

const fail = (message: string, reason: WebhookVerificationError['reason']): never => {
  throw new WebhookVerificationError(message, reason);
};

/**
 * The token from `Authorization: Bearer <jwt>`. No header at all is `missing_token` (the
 * handler answers 503 so that Vonage retries, signed); anything else that is not exactly one
 * `Bearer` token is `malformed_token`.
 */
export function bearerToken(headers: WebhookHeaders): string {
  const value = readAuthorization(headers);
  if (value === undefined || value === '' || (value.length < 8 && value.trim() === '')) {
    return fail('The webhook has no Authorization header: it is not signed', 'missing_token');
  }
  if (value.length > MAX_TOKEN_LENGTH + 7) return fail('The Authorization header is too long', 'malformed_token');
  // Vonage sends exactly "Bearer <jwt>"; a comma means several values were joined.
  if (!value.startsWith('Bearer ') || value.includes(',')) {
    return fail('The Authorization header is not "Bearer <token>"', 'malformed_token');
  }
  return value.slice(7);
}

function readAuthorization(headers: WebhookHeaders): string | undefined {
  if (typeof (headers as Headers).get === 'function' && typeof (headers as Headers).has === 'function') {
    return (headers as Headers).get('authorization') ?? undefined;
  }
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  let found: string | undefined;
  let count = 0;
  for (const name of Object.keys(record)) {
    if (name !== 'authorization' && (name.length !== 13 || name.toLowerCase() !== 'authorization')) continue;
    const value = record[name];
    if (value === undefined) continue;
    if (typeof value === 'string') {
      found = value;
      count += 1;
    } else if (Array.isArray(value)) {
      for (const item of value) {
        if (typeof item !== 'string') continue;
        found = item;
        count += 1;
      }
    }
  }
  // Two Authorization values can't both be trusted; treat them as one malformed header.
  if (count > 1) return `${found}, duplicate`;
  return found;
}

/** The HMAC keys of one or several signature secrets (prepared once per secret). */
export const secretKeys = (secrets: string | readonly string[]): HmacKey[] => {
  const list = typeof secrets === 'string' ? [secrets] : [...secrets];
  if (list.length === 0 || list.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw new ValidationError('signatureSecret must be a non-empty string (or a non-empty list of them)', [
      { path: 'signatureSecret', message: 'must be a non-empty string' },
    ]);
  }
  return hmacKeys(list);
};

const own = (obj: Record<string, unknown>, key: string): unknown => (Object.hasOwn(obj, key) ? obj[key] : undefined);

/** A base64url JSON object, or `malformed_token`. */
export function decodeJson(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(base64urlText(segment));
  } catch {
    return fail(`The token ${what} is not base64url JSON`, 'malformed_token');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(`The token ${what} is not a JSON object`, 'malformed_token');
  }
  return value as Record<string, unknown>;
}

/** payload_hash must be SHA-256 hex (either case) of the body; `actualHex` is lowercase. */
function checkPayloadHash(payloadHash: unknown, actualHex: string): void {
  checkHashSyntax(payloadHash);
  // No secret here (the hash sits in the token, anyone can hash a body): a plain comparison.
  if ((payloadHash as string).toLowerCase() !== actualHex) {
    fail('The body does not match the token payload_hash', 'payload_hash_mismatch');
  }
}

function checkHashSyntax(payloadHash: unknown): asserts payloadHash is string {
  if (typeof payloadHash !== 'string' || !/^[0-9a-fA-F]{64}$/.test(payloadHash)) {
    fail('payload_hash is not SHA-256 hex', 'payload_hash_mismatch');
  }
}

/**
 * The `payload_hash` claim without a body to compare it with (`checkToken`): present and
 * SHA-256 hex, so that a token `check` would refuse for its hash is refused here too.
 */
function hashClaim(payload: Record<string, unknown>): string {
  const payloadHash = own(payload, 'payload_hash');
  if (payloadHash === undefined) fail('The token has no payload_hash', 'missing_payload_hash');
  checkHashSyntax(payloadHash);
  return payloadHash;
}

/** Runs `next` now when `value` is at hand (node:crypto), or once it resolves (Web Crypto). */
function andThen<T, U>(value: T | Promise<T>, next: (value: T) => U | Promise<U>): U | Promise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}

/** `unsupported_algorithm` unless the JOSE header is HS256 (and `typ`, when present, JWT). */
export function checkHeader(segment: string): void {
  if (segment === STANDARD_HEADER) return;
  const header = decodeJson(segment, 'header');
  const alg = own(header, 'alg');
  if (alg !== 'HS256') {
    fail(`The token algorithm ${JSON.stringify(alg) ?? 'undefined'} is not HS256`, 'unsupported_algorithm');
  }
  const typ = own(header, 'typ');
  if (typ !== undefined && typ !== 'JWT') fail('The token type is not JWT', 'malformed_token');
  if (own(header, 'crit') !== undefined) fail('The token has critical header parameters', 'unsupported_algorithm');
}

// The checks of `check`, one function each and in its order, so that `inspectWebhookToken`
// (src/webhooks/inspect.ts) can run every one of them and report each, with the same code.

/** The positions of the token's two dots; `malformed_token` unless it is three non-empty parts. */
export function splitToken(token: string): [number, number] {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) fail('The token is too long', 'malformed_token');
  const dot1 = token.indexOf('.');
  const dot2 = token.indexOf('.', dot1 + 1);
  if (dot1 <= 0 || dot2 <= dot1 + 1 || token.indexOf('.', dot2 + 1) !== -1 || dot2 === token.length - 1) {
    fail('The token is not three dot-separated parts', 'malformed_token');
  }
  return [dot1, dot2];
}

const badSignature = (): never => fail('The token signature does not match the signature secret', 'bad_signature');

/** `bad_signature` unless the token's signature is the HMAC-SHA256 of its first two parts under one of `keys`. */
export function checkSignature(keys: readonly HmacKey[], token: string, dot2: number): void | Promise<void> {
  const signature = token.slice(dot2 + 1);
  // 43 characters decode to 32 bytes with 2 unused bits in the last one; only the canonical
  // spelling (unused bits zero, base64url alphabet only) is accepted, so one signature has
  // exactly one encoding.
  if (
    signature.length !== SIGNATURE_LENGTH ||
    !CANONICAL_LAST.includes(signature.charAt(42)) ||
    !BASE64URL_SIGNATURE.test(signature)
  ) {
    return badSignature();
  }
  const given = base64urlDecode(signature);
  if (given.length !== 32) return badSignature();
  return andThen(signatureMatches(keys, token.slice(0, dot2), given), (ok) => {
    if (!ok) badSignature();
  });
}

/** `wrong_issuer` unless `iss` is `"Vonage"`. */
export function checkIssuer(payload: Record<string, unknown>): void {
  if (own(payload, 'iss') !== 'Vonage') fail('The token issuer is not Vonage', 'wrong_issuer');
}

/** `iat` within `tolerance` seconds of `nowMs`, and `exp` / `nbf` (when present) within {@link EXP_NBF_LEEWAY_SECONDS}; returns `iat`. */
export function checkIssuedAt(payload: Record<string, unknown>, nowMs: number, tolerance: number): number {
  const iat = own(payload, 'iat');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) fail('The token has no numeric iat', 'malformed_token');
  const nowSeconds = nowMs / 1000;
  if ((iat as number) < nowSeconds - tolerance) fail(`The token is older than ${tolerance} s`, 'stale_token');
  if ((iat as number) > nowSeconds + tolerance) fail(`The token is dated over ${tolerance} s ahead`, 'future_token');
  const exp = own(payload, 'exp');
  if (exp !== undefined && (typeof exp !== 'number' || exp <= nowSeconds - EXP_NBF_LEEWAY_SECONDS)) {
    fail('The token has expired', 'stale_token');
  }
  const nbf = own(payload, 'nbf');
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > nowSeconds + EXP_NBF_LEEWAY_SECONDS)) {
    fail('The token is not valid yet', 'future_token');
  }
  return iat as number;
}

/** A non-empty `jti` of at most 256 characters; returns it. */
export function checkJti(payload: Record<string, unknown>): string {
  const jti = own(payload, 'jti');
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) fail('The token has no jti', 'malformed_token');
  return jti as string;
}

/** `api_key`, when present, is a string, and equals `apiKey` when one is configured. */
export function checkApiKey(payload: Record<string, unknown>, apiKey: string | undefined): string | undefined {
  const tokenApiKey = own(payload, 'api_key');
  if (tokenApiKey !== undefined && typeof tokenApiKey !== 'string') fail('api_key is not a string', 'malformed_token');
  if (apiKey !== undefined && tokenApiKey !== apiKey) fail('The token is for another API key', 'wrong_api_key');
  return tokenApiKey as string | undefined;
}

/** `application_id`, when present, is a string; it must equal `applicationId` when one is configured. */
export function checkApplicationId(
  payload: Record<string, unknown>,
  applicationId: string | undefined,
): string | undefined {
  const tokenApplication = own(payload, 'application_id');
  if (tokenApplication !== undefined && typeof tokenApplication !== 'string') {
    fail('application_id is not a string', 'malformed_token');
  }
  if (applicationId !== undefined && tokenApplication === undefined) {
    // Same reason as a mismatch (callers branch on it), but "another application" would send
    // the reader looking for a second application instead of at the token's signer.
    fail('The token has no application_id claim, and this messenger requires its application', 'wrong_application');
  }
  if (applicationId !== undefined && tokenApplication !== applicationId) {
    fail('The token is for another application', 'wrong_application');
  }
  return tokenApplication as string | undefined;
}

/** `payload_hash` is the SHA-256 hex of the exact body bytes; returns it. */
export function checkBodyHash(payload: Record<string, unknown>, body: string | Uint8Array): string | Promise<string> {
  const payloadHash = own(payload, 'payload_hash');
  if (payloadHash === undefined) fail('The token has no payload_hash', 'missing_payload_hash');
  // The exact bytes received: a re-serialized body can differ from what Vonage hashed.
  return andThen(sha256Hex(body), (actualHex) => {
    // Vonage sends lowercase hex, which is accepted directly; anything else takes the strict
    // path (same errors as ever).
    if (payloadHash !== actualHex) checkPayloadHash(payloadHash, actualHex);
    return payloadHash as string;
  });
}

/**
 * Prepares a verifier: the secrets become HMAC keys once, here, not per request.
 *
 * @example
 * ```ts
 * const verifier = createWebhookVerifier({ signatureSecret: process.env.VONAGE_SIGNATURE_SECRET!, store })
 * const claims = await verifier.verify({ headers: request.headers, body: rawBody })
 * ```
 */
export function createWebhookVerifier(options: WebhookVerifierOptions): WebhookVerifier {
  const keys = secretKeys(options.signatureSecret);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (!Number.isFinite(tolerance) || tolerance < 0 || tolerance > 86_400) {
    throw new ValidationError('toleranceSeconds must be a number from 0 to 86400', [
      { path: 'toleranceSeconds', message: 'must be a number from 0 to 86400' },
    ]);
  }
  const now = options.now ?? Date.now;
  const { apiKey, applicationId, store } = options;
  const claimTtlMs = jtiClaimTtlMs(tolerance);

  // `body` undefined: everything but its hash (checkToken).
  const check = (
    token: string,
    body: string | Uint8Array | undefined,
    nowMs: number = now(),
  ): WebhookClaims | Promise<WebhookClaims> => {
    const [dot1, dot2] = splitToken(token);
    // The segments are not pattern-checked here: the signature covers their exact characters,
    // and the signature itself must be the one canonical encoding.
    if (dot1 !== STANDARD_HEADER.length || !token.startsWith(STANDARD_HEADER)) checkHeader(token.slice(0, dot1));
    // Synchronous on node:crypto; a Promise only in the Workers build (Web Crypto).
    return andThen(checkSignature(keys, token, dot2), () => checkClaims(token.slice(dot1 + 1, dot2), body, nowMs));
  };

  const checkClaims = (
    segment: string,
    body: string | Uint8Array | undefined,
    nowMs: number,
  ): WebhookClaims | Promise<WebhookClaims> => {
    // Signed by a holder of the secret from here on; the claims are still checked strictly.
    const payload = decodeJson(segment, 'payload');
    checkIssuer(payload);
    const iat = checkIssuedAt(payload, nowMs, tolerance);
    const jti = checkJti(payload);
    const tokenApiKey = checkApiKey(payload, apiKey);
    const tokenApplication = checkApplicationId(payload, applicationId);
    const hashed = body === undefined ? hashClaim(payload) : checkBodyHash(payload, body);
    return andThen(hashed, (payloadHash) => {
      const claims: { -readonly [K in keyof WebhookClaims]: WebhookClaims[K] } = {
        iat,
        jti,
        iss: 'Vonage',
        payload_hash: payloadHash,
        raw: payload,
      };
      if (tokenApiKey !== undefined) claims.api_key = tokenApiKey;
      if (tokenApplication !== undefined) claims.application_id = tokenApplication;
      return claims;
    });
  };

  const claim = async (claims: WebhookClaims): Promise<void> => {
    if (store === undefined) return;
    const first = await callStore('claim', () => store.claim(jtiClaimId(claims.jti), claimTtlMs));
    if (!first) fail(REPLAYED, 'replayed_token');
  };

  return {
    check,
    checkToken: (token, nowMs) => andThen(check(token, undefined, nowMs), () => undefined),
    claim,
    async verify(request) {
      const claims = await check(bearerToken(request.headers), request.body);
      await claim(claims);
      return claims;
    },
  };
}

/**
 * Verifies one signed webhook and resolves to its claims, or rejects with
 * `WebhookVerificationError` (with a `reason`). The HMAC keys are cached per secret, so
 * calling it per request stays cheap; a long-lived {@link createWebhookVerifier} is the same.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { verifyWebhookSignature } from 'vonage-messenger'
 *
 * const app = express()
 * app.post('/webhooks/inbound', express.raw({ type: '*\/*' }), async (req, res) => {
 *   try {
 *     await verifyWebhookSignature({ headers: req.headers, body: req.body }, { signatureSecret, store })
 *   } catch (err) {
 *     return res.sendStatus(401)
 *   }
 *   res.sendStatus(200)
 * })
 * ```
 */
export async function verifyWebhookSignature(
  request: { headers: WebhookHeaders; body: string | Uint8Array },
  options: WebhookVerifierOptions,
): Promise<WebhookClaims> {
  return createWebhookVerifier(options).verify(request);
}
