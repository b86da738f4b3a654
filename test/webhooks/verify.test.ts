import { createHmac } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { ValidationError, WebhookVerificationError } from '../../src/errors.js';
import { memoryStore } from '../../src/store/memory.js';
import { signWebhook } from '../../src/testing/sign.js';
import type { WebhookClaims } from '../../src/webhooks/verify.js';
import { bearerToken, createWebhookVerifier, verifyWebhookSignature } from '../../src/webhooks/verify.js';
import { SECRET, T0 } from './helpers.js';

/** The claims check is synchronous on node:crypto (the Workers build's Web Crypto one is not). */
function sync(claims: WebhookClaims | Promise<WebhookClaims>): WebhookClaims {
  if (claims instanceof Promise) throw new Error('check() returned a Promise on node:crypto');
  return claims;
}

const body = '{"channel":"messenger","text":"hi"}';
const now = () => T0;

async function reason(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookVerificationError);
    return (error as WebhookVerificationError).reason;
  }
}

function hs256(header: object, claims: object, secret = SECRET): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

describe('verifyWebhookSignature', () => {
  it('accepts a token signed like Vonage signs and returns its claims', async () => {
    const signed = signWebhook(body, SECRET, { issuedAt: T0, applicationId: 'app-1' });
    const claims = await verifyWebhookSignature(signed, { signatureSecret: SECRET, now });
    expect(claims).toMatchObject({ iss: 'Vonage', api_key: 'test-api-key', application_id: 'app-1', iat: T0 / 1000 });
  });

  it('accepts a token made by jsonwebtoken with the same secret and claims', async () => {
    const hash = (await import('node:crypto')).createHash('sha256').update(body).digest('hex');
    const token = jwt.sign(
      { iat: T0 / 1000, jti: 'b1c2', iss: 'Vonage', payload_hash: hash, api_key: 'k1', application_id: 'app-1' },
      SECRET,
      { algorithm: 'HS256' },
    );
    const claims = await verifyWebhookSignature(
      { headers: { authorization: `Bearer ${token}` }, body },
      { signatureSecret: SECRET, apiKey: 'k1', applicationId: 'app-1', now },
    );
    expect(claims.jti).toBe('b1c2');
  });

  it('makes tokens byte-identical to jsonwebtoken from the same claims', () => {
    const signed = signWebhook(body, SECRET, { issuedAt: T0, jti: 'j' });
    expect(jwt.sign(signed.claims, SECRET)).toBe(signed.token);
    expect(jwt.verify(signed.token, SECRET, { algorithms: ['HS256'] })).toMatchObject({ jti: 'j' });
  });

  it('verifies the exact bytes: a Uint8Array body and its string are the same', async () => {
    const signed = signWebhook('{"a":"é"}', SECRET, { issuedAt: T0 });
    await expect(
      verifyWebhookSignature(
        { headers: signed.headers, body: Buffer.from(signed.body) },
        { signatureSecret: SECRET, now },
      ),
    ).resolves.toBeDefined();
  });

  it('refuses a body re-serialized with other whitespace', async () => {
    const signed = signWebhook('{ "a": 1 }', SECRET, { issuedAt: T0 });
    const reserialized = JSON.stringify(JSON.parse(signed.body));
    expect(
      await reason(
        verifyWebhookSignature({ headers: signed.headers, body: reserialized }, { signatureSecret: SECRET, now }),
      ),
    ).toBe('payload_hash_mismatch');
  });

  it('accepts any of several secrets while one is rotated out', async () => {
    const oldToken = signWebhook(body, 'old-secret', { issuedAt: T0 });
    const newToken = signWebhook(body, 'new-secret', { issuedAt: T0 });
    const options = { signatureSecret: ['new-secret', 'old-secret'], now };
    await expect(verifyWebhookSignature(oldToken, options)).resolves.toBeDefined();
    await expect(verifyWebhookSignature(newToken, options)).resolves.toBeDefined();
    expect(await reason(verifyWebhookSignature(signWebhook(body, 'other', { issuedAt: T0 }), options))).toBe(
      'bad_signature',
    );
  });

  it('claims each jti once when a store is given', async () => {
    const store = memoryStore({ now });
    const signed = signWebhook(body, SECRET, { issuedAt: T0 });
    await verifyWebhookSignature(signed, { signatureSecret: SECRET, now, store });
    expect(await reason(verifyWebhookSignature(signed, { signatureSecret: SECRET, now, store }))).toBe(
      'replayed_token',
    );
  });

  it('accepts iat at exactly the tolerance, both directions, and refuses one second beyond', async () => {
    const v = createWebhookVerifier({ signatureSecret: SECRET, toleranceSeconds: 300, now });
    const at = (ms: number) => signWebhook(body, SECRET, { issuedAt: ms }).token;
    expect(sync(v.check(at(T0 - 300_000), body)).iat).toBe(T0 / 1000 - 300);
    expect(sync(v.check(at(T0 + 300_000), body)).iat).toBe(T0 / 1000 + 300);
    expect(() => v.check(at(T0 - 301_000), body)).toThrow(/older/);
    expect(() => v.check(at(T0 + 301_000), body)).toThrow(/ahead/);
  });

  it('uses a configurable tolerance', () => {
    const v = createWebhookVerifier({ signatureSecret: SECRET, toleranceSeconds: 10, now });
    expect(() => v.check(signWebhook(body, SECRET, { issuedAt: T0 - 11_000 }).token, body)).toThrow(
      WebhookVerificationError,
    );
  });

  it('checks application_id only when configured, and requires it then', () => {
    const v = createWebhookVerifier({ signatureSecret: SECRET, applicationId: 'app-1', now });
    const other = signWebhook(body, SECRET, { issuedAt: T0, applicationId: 'app-2' }).token;
    expect(() => v.check(other, body)).toThrow(/another application/);
    const open = createWebhookVerifier({ signatureSecret: SECRET, now });
    expect(
      sync(open.check(signWebhook(body, SECRET, { issuedAt: T0, applicationId: 'x' }).token, body)).application_id,
    ).toBe('x');
  });

  it('says a token without application_id has none (reason wrong_application), not that it is for another application', () => {
    const v = createWebhookVerifier({ signatureSecret: SECRET, applicationId: 'app-1', now });
    const token = signWebhook(body, SECRET, { issuedAt: T0 }).token;
    expect(() => v.check(token, body)).toThrow(
      expect.objectContaining({
        reason: 'wrong_application',
        message: expect.stringMatching(/^The token has no application_id claim/),
      }),
    );
  });

  it('refuses a header with another alg even when it is HMAC-signed with the secret', () => {
    const v = createWebhookVerifier({ signatureSecret: SECRET, now });
    const claims = signWebhook(body, SECRET, { issuedAt: T0 }).claims;
    for (const alg of ['none', 'RS256', 'HS512', 'hs256', undefined]) {
      const token = hs256({ alg, typ: 'JWT' }, claims);
      expect(() => v.check(token, body)).toThrow(expect.objectContaining({ reason: 'unsupported_algorithm' }));
    }
  });

  it('accepts a header without typ and with a kid (same claims, other header bytes)', () => {
    const v = createWebhookVerifier({ signatureSecret: SECRET, now });
    const claims = signWebhook(body, SECRET, { issuedAt: T0 }).claims;
    expect(sync(v.check(hs256({ alg: 'HS256' }, claims), body)).iss).toBe('Vonage');
    expect(sync(v.check(hs256({ kid: '1', alg: 'HS256', typ: 'JWT' }, claims), body)).iss).toBe('Vonage');
  });

  it('refuses an expired exp and a future nbf when a token carries them', () => {
    const v = createWebhookVerifier({ signatureSecret: SECRET, now });
    const expired = signWebhook(body, SECRET, { issuedAt: T0, claims: { exp: T0 / 1000 - 400 } });
    expect(() => v.check(expired.token, body)).toThrow(expect.objectContaining({ reason: 'stale_token' }));
    const early = signWebhook(body, SECRET, { issuedAt: T0, claims: { nbf: T0 / 1000 + 400 } });
    expect(() => v.check(early.token, body)).toThrow(expect.objectContaining({ reason: 'future_token' }));
  });

  it('gives exp and nbf a fixed 30 s clock-skew leeway, not the 300 s iat tolerance', () => {
    const v = createWebhookVerifier({ signatureSecret: SECRET, now });
    const at = (claims: Record<string, unknown>) => () =>
      v.check(signWebhook(body, SECRET, { issuedAt: T0, claims }).token, body);
    expect(at({ exp: T0 / 1000 - 31 })).toThrow(expect.objectContaining({ reason: 'stale_token' }));
    expect(at({ exp: T0 / 1000 - 29 })).not.toThrow();
    expect(at({ nbf: T0 / 1000 + 31 })).toThrow(expect.objectContaining({ reason: 'future_token' }));
    expect(at({ nbf: T0 / 1000 + 29 })).not.toThrow();
  });

  it('refuses a signature spelled in the standard base64 alphabet (+ and / for - and _)', async () => {
    const v = createWebhookVerifier({ signatureSecret: SECRET, now });
    let checked = 0;
    for (let i = 0; checked < 5 && i < 500; i++) {
      const { token } = signWebhook(body, SECRET, { issuedAt: T0, jti: `jti-${i}` });
      const dot = token.lastIndexOf('.');
      const signature = token.slice(dot + 1);
      if (!/[-_]/.test(signature)) continue;
      checked += 1;
      expect((await v.check(token, body)).jti).toBe(`jti-${i}`);
      const standard = signature.replace(/-/g, '+').replace(/_/g, '/');
      // The same 32 bytes, other characters: refused, so each signature has one spelling.
      expect(Buffer.from(standard, 'base64').equals(Buffer.from(signature, 'base64url'))).toBe(true);
      expect(() => v.check(`${token.slice(0, dot + 1)}${standard}`, body)).toThrow(
        expect.objectContaining({ reason: 'bad_signature' }),
      );
    }
    expect(checked).toBe(5);
  });

  it('refuses a missing payload_hash', () => {
    const v = createWebhookVerifier({ signatureSecret: SECRET, now });
    const signed = signWebhook(body, SECRET, { issuedAt: T0, claims: { payload_hash: undefined } });
    expect(() => v.check(signed.token, body)).toThrow(expect.objectContaining({ reason: 'missing_payload_hash' }));
  });

  it('accepts an upper-case payload_hash (same bytes)', () => {
    const v = createWebhookVerifier({ signatureSecret: SECRET, now });
    const lower = signWebhook(body, SECRET, { issuedAt: T0 }).claims.payload_hash as string;
    const signed = signWebhook(body, SECRET, { issuedAt: T0, payloadHash: lower.toUpperCase() });
    expect(sync(v.check(signed.token, body)).payload_hash).toBe(lower.toUpperCase());
  });

  it('refuses an empty secret list or an empty secret at creation', () => {
    expect(() => createWebhookVerifier({ signatureSecret: [] })).toThrow(ValidationError);
    expect(() => createWebhookVerifier({ signatureSecret: '' })).toThrow(ValidationError);
    expect(() => createWebhookVerifier({ signatureSecret: SECRET, toleranceSeconds: -1 })).toThrow(ValidationError);
  });
});

describe('bearerToken', () => {
  it('reads the token from Fetch Headers and from node-style records', () => {
    expect(bearerToken(new Headers({ Authorization: 'Bearer a.b.c' }))).toBe('a.b.c');
    expect(bearerToken({ authorization: 'Bearer a.b.c' })).toBe('a.b.c');
    expect(bearerToken({ Authorization: ['Bearer a.b.c'] })).toBe('a.b.c');
  });

  it('calls a missing or empty header missing_token and anything else malformed', () => {
    const r = (headers: Parameters<typeof bearerToken>[0]) => {
      try {
        bearerToken(headers);
        return 'ok';
      } catch (error) {
        return (error as WebhookVerificationError).reason;
      }
    };
    expect(r({})).toBe('missing_token');
    expect(r({ authorization: '' })).toBe('missing_token');
    expect(r(new Headers())).toBe('missing_token');
    expect(r({ authorization: 'Basic abc' })).toBe('malformed_token');
    expect(r({ authorization: 'bearer a.b.c' })).toBe('malformed_token');
    expect(r({ authorization: ['Bearer a.b.c', 'Bearer d.e.f'] })).toBe('malformed_token');
    expect(r({ authorization: 'Bearer a.b.c', Authorization: 'Bearer d.e.f' })).toBe('malformed_token');
  });
});

describe('checkToken: the token alone, before a compressed body is inflated', () => {
  const verifier = createWebhookVerifier({ signatureSecret: SECRET, now: () => T0 });
  const token = (options: Parameters<typeof signWebhook>[2] = {}, secret = SECRET) =>
    bearerToken(signWebhook('{"a":1}', secret, { issuedAt: T0, ...options }).headers);
  const reason = (call: () => unknown) => {
    try {
      call();
    } catch (error) {
      return (error as WebhookVerificationError).reason;
    }
    return 'accepted';
  };

  it('accepts what check accepts, and refuses a token check would refuse for its hash claim', () => {
    expect(reason(() => verifier.checkToken(token()))).toBe('accepted');
    expect(reason(() => verifier.checkToken(token({}, 'another-secret')))).toBe('bad_signature');
    expect(reason(() => verifier.checkToken(token({ issuedAt: T0 - 3_600_000 })))).toBe('stale_token');
    expect(reason(() => verifier.checkToken(token({ claims: { payload_hash: undefined } })))).toBe(
      'missing_payload_hash',
    );
    expect(reason(() => verifier.checkToken(token({ payloadHash: 'zz' })))).toBe('payload_hash_mismatch');
    expect(reason(() => verifier.checkToken(token({ claims: { payload_hash: { hex: 'x' } } })))).toBe(
      'payload_hash_mismatch',
    );
  });
});
