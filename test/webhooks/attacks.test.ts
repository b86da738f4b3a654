/**
 * The attack corpus: hostile requests against the webhook handler. Each one asserts the HTTP
 * status AND that the store was not written to (every write call is recorded) and reads the
 * same before and after.
 */
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { conversationKey, pageId, psid } from '../../src/ids.js';
import { type SignWebhookOptions, signWebhook } from '../../src/testing/sign.js';
import { clock, inboundV1, PAGE, PSID, SECRET, setup, statusV1, T0 } from './helpers.js';

const API_KEY = 'key-1';
const APP = 'app-1';
const key = conversationKey(pageId(PAGE), psid(PSID));

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const hmac = (input: string, secret = SECRET) => createHmac('sha256', secret).update(input).digest('base64url');

function claimsFor(body: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iat: Math.floor(T0 / 1000),
    jti: `jti-${Math.random()}`,
    iss: 'Vonage',
    payload_hash: sha(body),
    api_key: API_KEY,
    application_id: APP,
    ...extra,
  };
}

/** A token built by hand, for headers and signatures signWebhook would never make. */
function handToken(header: unknown, claims: unknown, signature?: string): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${signature ?? hmac(input)}`;
}

const good = (body: string | object, options: SignWebhookOptions = {}) =>
  signWebhook(body, SECRET, { issuedAt: T0, apiKey: API_KEY, applicationId: APP, ...options });

function request(body: BodyInit | null, headers: HeadersInit, init: Record<string, unknown> = {}): Request {
  return new Request('http://localhost/webhooks/inbound', { method: 'POST', headers, body, ...init } as RequestInit);
}

const withToken = (token: string, body: string) =>
  request(body, { authorization: `Bearer ${token}`, 'content-type': 'application/json' });

const BODY = JSON.stringify(inboundV1());
const OTHER = JSON.stringify(inboundV1({ text: 'Pay 1000 € to Mallory' }));

interface Attack {
  name: string;
  status: number;
  build(): Request;
  /** Runs first (its writes are allowed), e.g. the original request of a replay. */
  before?: Request;
}

function bigStream(total: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= total) return controller.close();
      sent += 64 * 1024;
      controller.enqueue(new Uint8Array(64 * 1024).fill(0x7b));
    },
  });
}

const replayed = good(BODY);

const attacks: Attack[] = [
  {
    name: 'wrong secret',
    status: 401,
    build: () => withToken(signWebhook(BODY, 'guess', { issuedAt: T0 }).token, BODY),
  },
  {
    name: 'alg none with an empty signature',
    status: 401,
    build: () => withToken(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claimsFor(BODY))}.`, BODY),
  },
  {
    name: 'alg none with an HMAC signature',
    status: 401,
    build: () => withToken(handToken({ alg: 'none', typ: 'JWT' }, claimsFor(BODY)), BODY),
  },
  {
    name: 'alg RS256 (key confusion)',
    status: 401,
    build: () => withToken(handToken({ alg: 'RS256', typ: 'JWT' }, claimsFor(BODY)), BODY),
  },
  {
    name: 'alg HS512',
    status: 401,
    build: () => withToken(handToken({ alg: 'HS512', typ: 'JWT' }, claimsFor(BODY)), BODY),
  },
  { name: 'missing alg', status: 401, build: () => withToken(handToken({ typ: 'JWT' }, claimsFor(BODY)), BODY) },
  {
    name: 'crit header',
    status: 401,
    build: () => withToken(handToken({ alg: 'HS256', crit: ['x'], x: 1 }, claimsFor(BODY)), BODY),
  },
  { name: 'tampered body under a valid token', status: 401, build: () => withToken(good(BODY).token, OTHER) },
  {
    name: 'payload_hash of another body',
    status: 401,
    build: () => withToken(good(OTHER).token, BODY),
  },
  {
    name: 'payload_hash not hex',
    status: 401,
    build: () => withToken(good(BODY, { payloadHash: 'z'.repeat(64) }).token, BODY),
  },
  {
    name: 'payload_hash missing',
    status: 401,
    build: () => withToken(good(BODY, { claims: { payload_hash: undefined } }).token, BODY),
  },
  {
    name: 'stale iat (6 minutes)',
    status: 401,
    build: () => withToken(good(BODY, { issuedAt: T0 - 360_000 }).token, BODY),
  },
  {
    name: 'future iat (6 minutes)',
    status: 401,
    build: () => withToken(good(BODY, { issuedAt: T0 + 360_000 }).token, BODY),
  },
  {
    name: 'iat as a string',
    status: 401,
    build: () => withToken(good(BODY, { claims: { iat: `${T0 / 1000}` } }).token, BODY),
  },
  { name: 'iat missing', status: 401, build: () => withToken(good(BODY, { claims: { iat: undefined } }).token, BODY) },
  {
    name: 'replayed jti',
    status: 401,
    before: withToken(replayed.token, replayed.body),
    build: () => withToken(replayed.token, replayed.body),
  },
  { name: 'jti missing', status: 401, build: () => withToken(good(BODY, { claims: { jti: undefined } }).token, BODY) },
  { name: 'wrong iss', status: 401, build: () => withToken(good(BODY, { issuer: 'vonage' }).token, BODY) },
  { name: 'iss missing', status: 401, build: () => withToken(good(BODY, { claims: { iss: undefined } }).token, BODY) },
  { name: 'wrong api_key', status: 401, build: () => withToken(good(BODY, { apiKey: 'key-2' }).token, BODY) },
  {
    name: 'wrong application_id',
    status: 401,
    build: () => withToken(good(BODY, { applicationId: 'app-2' }).token, BODY),
  },
  {
    name: 'application_id missing while configured',
    status: 401,
    build: () => withToken(good(BODY, { claims: { application_id: undefined } }).token, BODY),
  },
  { name: 'truncated token', status: 401, build: () => withToken(good(BODY).token.slice(0, -5), BODY) },
  {
    name: 'token of two parts',
    status: 401,
    build: () => withToken(good(BODY).token.split('.').slice(0, 2).join('.'), BODY),
  },
  {
    name: 'token of four parts',
    status: 401,
    build: () => withToken(`${good(BODY).token}.AAAA`, BODY),
  },
  {
    name: 'oversized token (a 5000-character claim)',
    status: 401,
    build: () => withToken(good(BODY, { claims: { pad: 'x'.repeat(5000) } }).token, BODY),
  },
  {
    name: 'signature with base64 padding',
    status: 401,
    build: () => withToken(`${good(BODY).token}=`, BODY),
  },
  {
    name: 'signature re-encoded with another last character (same bytes, non-canonical)',
    status: 401,
    build: () => {
      const token = good(BODY).token;
      const last = token.at(-1) as string;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const index = alphabet.indexOf(last);
      const twin = alphabet[(index & ~3) | ((index + 1) & 3)] as string; // differs only in unused bits
      return withToken(`${token.slice(0, -1)}${twin}`, BODY);
    },
  },
  {
    name: 'header segment that is not base64url JSON',
    status: 401,
    build: () => {
      const input = `${b64('{"alg":')}.${b64(claimsFor(BODY))}`;
      return withToken(`${input}.${hmac(input)}`, BODY);
    },
  },
  {
    name: 'payload that is a JSON array, correctly signed',
    status: 401,
    build: () => withToken(handToken({ alg: 'HS256', typ: 'JWT' }, [claimsFor(BODY)]), BODY),
  },
  {
    name: 'token with a newline inside',
    status: 401,
    build: () => {
      const token = good(BODY).token;
      return request(BODY, { authorization: `Bearer ${token.slice(0, 10)}\t${token.slice(10)}` });
    },
  },
  {
    name: 'Bearer missing (bare token)',
    status: 401,
    build: () => request(BODY, { authorization: good(BODY).token }),
  },
  {
    name: 'lowercase bearer',
    status: 401,
    build: () => request(BODY, { authorization: `bearer ${good(BODY).token}` }),
  },
  {
    name: 'Basic credentials instead of a token',
    status: 401,
    build: () => request(BODY, { authorization: `Basic ${Buffer.from('key-1:secret').toString('base64')}` }),
  },
  {
    name: 'two Authorization values (one valid)',
    status: 401,
    build: () => {
      const headers = new Headers();
      headers.append('authorization', `Bearer ${good(BODY).token}`);
      headers.append('authorization', `Bearer ${good(OTHER).token}`);
      return request(BODY, headers);
    },
  },
  {
    name: 'no Authorization header at all (unsigned: ask for a signed retry)',
    status: 503,
    build: () => request(BODY, { 'content-type': 'application/json' }),
  },
  { name: 'empty body, no token', status: 503, build: () => request(null, {}) },
  {
    name: 'oversized body streamed without Content-Length',
    status: 413,
    build: () =>
      request(bigStream(4 * 1024 * 1024), { authorization: `Bearer ${good(BODY).token}` }, { duplex: 'half' }),
  },
  {
    name: 'oversized body with an honest Content-Length',
    status: 413,
    build: () => {
      const big = JSON.stringify(inboundV1({ text: 'x'.repeat(1_100_000) }));
      return withToken(good(big).token, big);
    },
  },
  {
    name: 'Content-Length lying small over an oversized stream',
    status: 413,
    build: () =>
      request(
        bigStream(2 * 1024 * 1024),
        { authorization: `Bearer ${good(BODY).token}`, 'content-length': '10' },
        { duplex: 'half' },
      ),
  },
  {
    name: 'signed body that is not JSON',
    status: 400,
    build: () => withToken(good('{"channel":').token, '{"channel":'),
  },
  { name: 'signed empty body', status: 400, build: () => withToken(good('').token, '') },
  {
    name: 'signed JSON of the wrong shape',
    status: 400,
    build: () => {
      const body = JSON.stringify([{ channel: 'messenger' }]);
      return withToken(good(body).token, body);
    },
  },
  {
    name: 'signed status of an unknown kind',
    status: 400,
    build: () => {
      const body = JSON.stringify(statusV1({ status: 'hacked' }));
      return withToken(good(body).token, body);
    },
  },
  {
    name: 'signed webhook of another channel',
    status: 400,
    build: () => {
      const body = JSON.stringify(inboundV1({ channel: 'whatsapp' }));
      return withToken(good(body).token, body);
    },
  },
  {
    name: 'signed body with a huge PSID string',
    status: 400,
    build: () => {
      const body = JSON.stringify(inboundV1({ from: '9'.repeat(500_000) }));
      return withToken(good(body).token, body);
    },
  },
  {
    name: 'signed body with a huge message_uuid',
    status: 400,
    build: () => {
      const body = JSON.stringify(inboundV1({ message_uuid: 'u'.repeat(500_000) }));
      return withToken(good(body).token, body);
    },
  },
  {
    name: 'signed body with a PSID as a number above 2^53',
    status: 400,
    build: () => {
      const body = JSON.stringify(inboundV1()).replace(`"from":"${PSID}"`, `"from":${PSID}`);
      return withToken(good(body).token, body);
    },
  },
  {
    name: 'signed body whose fields hide under __proto__',
    status: 400,
    build: () => {
      const body = `{"__proto__":${BODY},"constructor":{"prototype":{"polluted":1}}}`;
      return withToken(good(body).token, body);
    },
  },
  {
    name: 'signed body with duplicate keys (the last channel is not messenger)',
    status: 400,
    build: () => {
      const body = `{"channel":"messenger",${BODY.slice(1, -1)},"channel":"sms"}`;
      return withToken(good(body).token, body);
    },
  },
  {
    name: 'signed body with deep nesting',
    status: 400,
    build: () => {
      const body = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
      return withToken(good(body).token, body);
    },
  },
  {
    name: 'signed message to an undeclared Page',
    status: 403,
    build: () => {
      const body = JSON.stringify(inboundV1({ to: '1111' }));
      return withToken(good(body).token, body);
    },
  },
  {
    name: 'signed status from an undeclared Page (would unlink it)',
    status: 403,
    build: () => {
      const body = JSON.stringify(statusV1({ from: '1111', status: 'rejected', error: { title: '1370' } }));
      return withToken(good(body).token, body);
    },
  },
];

async function snapshot(store: ReturnType<typeof setup>['store']) {
  return JSON.stringify([await store.get(key), await store.getPage(pageId(PAGE)), await store.getPage(pageId('1111'))]);
}

describe('attack corpus: hostile webhook requests change nothing', () => {
  it('has at least 30 hostile requests', () => {
    expect(attacks.length).toBeGreaterThanOrEqual(30);
  });

  it.each(attacks.map((a) => [a.name, a] as const))('%s', async (_name, attack) => {
    const ctx = setup({ apiKey: API_KEY, applicationId: APP, pages: new Set([PAGE]) });
    let armed = false;
    const handler = ctx.layer.webhookHandler({
      onMessage: () => {
        if (armed) throw new Error('a hostile request reached the callback');
      },
    });
    if (attack.before !== undefined) expect((await handler(attack.before)).status).toBe(200);
    armed = true;
    clock.now = T0;
    const before = await snapshot(ctx.store);
    ctx.writes.length = 0;

    const response = await handler(attack.build());

    expect(response.status).toBe(attack.status);
    expect(ctx.writes).toEqual([]);
    expect(await snapshot(ctx.store)).toBe(before);
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('accepts the same valid request the corpus starts from (the harness is not refusing everything)', async () => {
    const ctx = setup({ apiKey: API_KEY, applicationId: APP, pages: new Set([PAGE]) });
    const signed = good(BODY);
    expect((await ctx.layer.webhookHandler()(withToken(signed.token, signed.body))).status).toBe(200);
    expect(ctx.writes.length).toBeGreaterThan(0);
  });
});
