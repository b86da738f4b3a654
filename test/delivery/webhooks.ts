/** Copies of one inbound webhook as Vonage sends them (no vitest: forked workers use it too). */
import { randomUUID } from 'node:crypto';
import { signWebhook } from '../../src/testing/sign.js';

export const DELIVERY_SECRET = 'delivery-suite-signature-secret';

/** A fresh inbound message for a fresh Page (so runs on a shared backend never collide). */
export function freshInbound(): { page: string; body: string } {
  const page = String(100_000_000 + Math.floor(Math.random() * 899_999_999));
  const body = JSON.stringify({
    channel: 'messenger',
    message_uuid: randomUUID(),
    to: page,
    from: String(2_000_000_000 + Math.floor(Math.random() * 999_999_999)),
    timestamp: new Date().toISOString(),
    message_type: 'text',
    text: 'Hello',
  });
  return { page, body };
}

/** One copy of `body` as Vonage sends it: the same bytes, a fresh token (fresh jti). */
export function copyOf(body: string): Request {
  const { headers } = signWebhook(body, DELIVERY_SECRET);
  return new Request('http://localhost/webhooks/inbound', { method: 'POST', headers, body });
}
