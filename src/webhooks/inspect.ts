/**
 * "Why does my webhook get 401?": runs every check of {@link createWebhookVerifier} on one
 * token, each on its own, and reports each as pass or fail with the SDK's own reason. The
 * checks are the verifier's functions (verify.ts), not a copy, so the report and the
 * verifier cannot disagree. The secret is never part of the report.
 *
 * @module
 */
import { WebhookVerificationError } from '../errors.js';
import type { WebhookVerificationReason } from '../vocabulary.js';
import {
  checkApiKey,
  checkApplicationId,
  checkBodyHash,
  checkHeader,
  checkIssuedAt,
  checkIssuer,
  checkJti,
  checkSignature,
  DEFAULT_TOLERANCE_SECONDS,
  decodeJson,
  secretKeys,
  splitToken,
} from './verify.js';

/** One check: `pass`, `fail` (with the verifier's reason), or `skip` when its input is missing. */
export interface TokenCheck {
  /** `format`, `algorithm`, `signature`, `iss`, `iat`, `jti`, `api_key`, `application_id`, `payload_hash`. */
  name: string;
  result: 'pass' | 'fail' | 'skip';
  /** What was found, or why it failed. */
  detail: string;
  /** The verifier's `WebhookVerificationError.reason`, for a failure. */
  reason?: WebhookVerificationReason;
}

/** The report of {@link inspectWebhookToken}. */
export interface TokenInspection {
  /** True when no check failed (a skipped check is not a pass: see `checks`). */
  ok: boolean;
  /** The decoded JOSE header, when it decodes. */
  header: Record<string, unknown> | null;
  /** The decoded claims, when they decode (not trusted unless `signature` passed). */
  claims: Record<string, unknown> | null;
  checks: TokenCheck[];
}

/** Options of {@link inspectWebhookToken}. */
export interface InspectOptions {
  signatureSecret: string | readonly string[];
  /** The exact body received; without it `payload_hash` is skipped. */
  body?: string | Uint8Array;
  apiKey?: string;
  applicationId?: string;
  toleranceSeconds?: number;
  /** Epoch ms. Default `Date.now()`. */
  now?: number;
}

function attempt<T>(name: string, run: () => T, describe: (value: T) => string): TokenCheck {
  try {
    return { name, result: 'pass', detail: describe(run()) };
  } catch (error) {
    if (error instanceof WebhookVerificationError) {
      return { name, result: 'fail', detail: error.message, reason: error.reason };
    }
    throw error;
  }
}

const skip = (name: string, detail: string): TokenCheck => ({ name, result: 'skip', detail });

/**
 * Runs every webhook check on `token` (with or without its `Bearer ` prefix).
 */
export function inspectWebhookToken(token: string, options: InspectOptions): TokenInspection {
  const jwt = token.trim().replace(/^Bearer\s+/i, '');
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const nowMs = options.now ?? Date.now();
  const checks: TokenCheck[] = [];
  let header: Record<string, unknown> | null = null;
  let claims: Record<string, unknown> | null = null;

  let dots: [number, number] | undefined;
  checks.push(
    attempt(
      'format',
      () => {
        dots = splitToken(jwt);
      },
      () => 'three dot-separated base64url parts',
    ),
  );
  if (dots === undefined) {
    for (const name of ['algorithm', 'signature', 'iss', 'iat', 'jti', 'api_key', 'application_id', 'payload_hash']) {
      checks.push(skip(name, 'not a JWT'));
    }
    return { ok: false, header, claims, checks };
  }
  const [dot1, dot2] = dots;
  try {
    header = decodeJson(jwt.slice(0, dot1), 'header');
  } catch {}
  checks.push(
    attempt(
      'algorithm',
      () => checkHeader(jwt.slice(0, dot1)),
      () => 'HS256',
    ),
  );
  const keys = secretKeys(options.signatureSecret);
  checks.push(
    attempt(
      'signature',
      () => checkSignature(keys, jwt, dot2),
      () => 'HMAC-SHA256 matches the signature secret',
    ),
  );

  try {
    claims = decodeJson(jwt.slice(dot1 + 1, dot2), 'payload');
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    for (const name of ['iss', 'iat', 'jti', 'api_key', 'application_id', 'payload_hash']) {
      checks.push({ name, result: 'fail', detail, reason: 'malformed_token' });
    }
    return { ok: false, header, claims, checks };
  }
  const payload = claims;
  checks.push(
    attempt(
      'iss',
      () => checkIssuer(payload),
      () => 'Vonage',
    ),
  );
  checks.push(
    attempt(
      'iat',
      () => checkIssuedAt(payload, nowMs, tolerance),
      (iat) => {
        const age = Math.round(nowMs / 1000 - iat);
        const when = age >= 0 ? `${age} s ago` : `${-age} s ahead`;
        return `issued ${when} (${new Date(iat * 1000).toISOString()}), within ±${tolerance} s`;
      },
    ),
  );
  checks.push(
    attempt(
      'jti',
      () => checkJti(payload),
      (jti) => `${jti} (a messenger claims it once in its store: a second use is replayed_token)`,
    ),
  );
  checks.push(
    attempt(
      'api_key',
      () => checkApiKey(payload, options.apiKey),
      (value) =>
        options.apiKey === undefined
          ? `${value ?? 'absent'} (not compared: no --api-key)`
          : `${value} matches the expected API key`,
    ),
  );
  checks.push(
    attempt(
      'application_id',
      () => checkApplicationId(payload, options.applicationId),
      (value) =>
        options.applicationId === undefined
          ? `${value ?? 'absent'} (not compared: no --application-id)`
          : `${value} matches the expected application`,
    ),
  );
  const body = options.body;
  checks.push(
    body === undefined
      ? skip('payload_hash', 'no body given: pass the exact bytes received (--body FILE or -)')
      : attempt(
          'payload_hash',
          () => checkBodyHash(payload, body),
          () => 'SHA-256 of the body matches',
        ),
  );
  return { ok: checks.every((check) => check.result !== 'fail'), header, claims, checks };
}
