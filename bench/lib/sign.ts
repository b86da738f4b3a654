/**
 * Signs inbound webhook requests the way Vonage does (HS256 JWT in `Authorization: Bearer`,
 * claims iat, jti, iss "Vonage", payload_hash = SHA-256 hex of the raw body), with
 * node:crypto only, so that the benchmark's signer is independent of the code it measures.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';

export interface SignedRequest {
  headers: Record<string, string>;
  body: string;
  token: string;
}

const b64url = (input: string | Buffer) => Buffer.from(input).toString('base64url');
const HEADER = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

/** One signed request with a fresh `jti` (a verifier with replay protection accepts each once). */
export function signRequest(
  body: string,
  secret: string,
  applicationId: string,
  iat = Math.floor(Date.now() / 1000),
): SignedRequest {
  const claims = {
    iat,
    jti: randomUUID(),
    iss: 'Vonage',
    payload_hash: createHash('sha256').update(body).digest('hex'),
    api_key: 'abcd1234',
    application_id: applicationId,
  };
  const unsigned = `${HEADER}.${b64url(JSON.stringify(claims))}`;
  const token = `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
  return { headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body, token };
}

/** A v1 inbound Messenger text message, as Vonage posts it. */
export function inboundTextBody(pageId: string, psid: string, messageUuid: string, at: Date): string {
  return JSON.stringify({
    channel: 'messenger',
    message_uuid: messageUuid,
    to: pageId,
    from: psid,
    timestamp: at.toISOString(),
    message_type: 'text',
    text: 'Hello, is my order on its way?',
  });
}
