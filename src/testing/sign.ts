/**
 * Signs webhook bodies the way Vonage does, so that tests (yours and ours) and the local
 * sandbox can send requests that `messenger.receive` and `messenger.webhookHandler` accept.
 *
 * The token is a real HS256 JWT over the signature secret with Vonage's claims: `iat`
 * (seconds), `jti` (a fresh UUID), `iss: "Vonage"`, `payload_hash` (SHA-256 hex of the exact
 * body string), `api_key` and, when given, `application_id`. It is byte-identical to
 * `jwt.sign(claims, secret)` of the `jsonwebtoken` package with the same claims.
 *
 * Sources: Vonage "Signed webhooks" (https://developer.vonage.com/en/getting-started/concepts/webhooks#signed-webhooks).
 *
 * @module
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { checkInstant, checkNames, checkObject, checkString, checkText, typeError } from './sandbox/check.js';

/** Options of {@link signWebhook}. Every claim can be overridden to build hostile requests. */
export interface SignWebhookOptions {
  /** `api_key` claim. Default `"test-api-key"`; pass the messenger's `apiKey` when it checks one. */
  apiKey?: string | undefined;
  /** `application_id` claim; left out unless given (as Vonage does without an application). */
  applicationId?: string | undefined;
  /** When the token was issued, epoch ms or a Date. Default `Date.now()`. */
  issuedAt?: number | Date | undefined;
  /** Defaults: a fresh UUID, `"Vonage"`, the SHA-256 hex of the body. */
  jti?: string | undefined;
  issuer?: string | undefined;
  payloadHash?: string | undefined;
  /**
   * Extra claims, merged last (they win over the ones above). A claim set to `undefined` is
   * removed, e.g. `{ payload_hash: undefined }`.
   */
  claims?: Record<string, unknown> | undefined;
  /** JOSE header. Default `{ alg: 'HS256', typ: 'JWT' }`; the token is always HMAC-SHA256 signed. */
  header?: Record<string, unknown> | undefined;
}

/** A signed webhook, ready to pass to `messenger.receive` or to send with `fetch`. */
export interface SignedWebhook {
  /** `authorization: Bearer <jwt>` and `content-type: application/json`. */
  headers: { authorization: string; 'content-type': 'application/json' };
  /** The exact body the `payload_hash` claim covers. Send these bytes unchanged. */
  body: string;
  token: string;
  claims: Record<string, unknown>;
}

const DEFAULT_HEADER = { alg: 'HS256', typ: 'JWT' };

const b64url = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

const SIGN_OPTIONS: Readonly<Record<keyof SignWebhookOptions, true>> = {
  apiKey: true,
  applicationId: true,
  issuedAt: true,
  jti: true,
  issuer: true,
  payloadHash: true,
  claims: true,
  header: true,
};

/**
 * Refuses mistakes, not hostile tokens: any claim may hold an odd string (or anything, through
 * `claims`), but an empty secret, an option name the signer does not know (`applicationID`
 * would leave `application_id` out) or an `issuedAt` that is no instant is a slip in the test.
 */
function checkSignInput(body: unknown, secret: unknown, options: unknown): asserts options is SignWebhookOptions {
  const where = 'signWebhook';
  if (typeof body !== 'string' && (body === null || typeof body !== 'object')) {
    throw typeError(where, 'body', 'the string to send or an object to JSON.stringify', body);
  }
  checkText(secret, where, 'secret');
  checkNames<SignWebhookOptions>(options, where, SIGN_OPTIONS);
  for (const name of ['apiKey', 'applicationId', 'jti', 'issuer', 'payloadHash'] as const) {
    if (options[name] !== undefined) checkString(options[name], where, name);
  }
  if (options.issuedAt !== undefined) checkInstant(options.issuedAt, where, 'issuedAt');
  if (options.claims !== undefined) checkObject(options.claims, where, 'claims');
  if (options.header !== undefined) checkObject(options.header, where, 'header');
}

/**
 * Signs a webhook body (the exact string to send, or an object to `JSON.stringify`) with the
 * signature secret given to `createMessenger({ signatureSecret })`, like Vonage does.
 *
 * @example
 * ```ts
 * import { signWebhook, inboundText } from 'vonage-messenger/testing'
 *
 * const { headers, body } = signWebhook(inboundText({ pageId: '1029', psid: '2538', text: 'hi' }), 'my-secret')
 * const { event } = await messenger.receive({ headers, body })
 * // or: await fetch('http://localhost:3000/webhooks/inbound', { method: 'POST', headers, body })
 * ```
 */
export function signWebhook(body: string | object, secret: string, options: SignWebhookOptions = {}): SignedWebhook {
  checkSignInput(body, secret, options);
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const issuedAt = options.issuedAt ?? Date.now();
  const iatMs = typeof issuedAt === 'number' ? issuedAt : issuedAt.getTime();

  const claims: Record<string, unknown> = {
    iat: Math.floor(iatMs / 1000),
    jti: options.jti ?? randomUUID(),
    iss: options.issuer ?? 'Vonage',
    payload_hash: options.payloadHash ?? createHash('sha256').update(text, 'utf8').digest('hex'),
    api_key: options.apiKey ?? 'test-api-key',
  };
  if (options.applicationId !== undefined) claims.application_id = options.applicationId;
  for (const [name, value] of Object.entries(options.claims ?? {})) {
    if (value === undefined) delete claims[name];
    else claims[name] = value;
  }

  const signingInput = `${b64url(JSON.stringify(options.header ?? DEFAULT_HEADER))}.${b64url(JSON.stringify(claims))}`;
  const signature = createHmac('sha256', secret).update(signingInput).digest('base64url');
  const token = `${signingInput}.${signature}`;
  return {
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: text,
    token,
    claims,
  };
}

/**
 * Builds a Fetch `Request` carrying a signed webhook, for testing a `webhookHandler` directly.
 *
 * @example
 * ```ts
 * import { expect } from 'vitest'
 *
 * const handler = messenger.webhookHandler({ onMessage: async () => {} })
 * const response = await handler(signedWebhookRequest('http://localhost/webhooks/inbound', inboundText(), 'my-secret'))
 * expect(response.status).toBe(200)
 * ```
 */
export function signedWebhookRequest(
  url: string,
  body: string | object,
  secret: string,
  options?: SignWebhookOptions,
): Request {
  const signed = signWebhook(body, secret, options);
  return new Request(url, { method: 'POST', headers: signed.headers, body: signed.body });
}
