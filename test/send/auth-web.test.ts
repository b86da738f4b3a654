import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { verifySignature } from '@vonage/jwt';
import { describe, expect, it, vi } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { jwtAuth as nodeJwtAuth } from '../../src/send/auth.js';
import { jwtAuth, loadPrivateKey } from '../../src/send/auth-web.js';
import { jwtPayload, testKeys } from './fake-api.js';

const { privateKey, publicKey } = testKeys();
const applicationId = 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab';

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

const refusalNow = (call: () => unknown) => {
  try {
    call();
  } catch (error) {
    return error;
  }
  return undefined;
};

describe('jwtAuth on Web Crypto (the Workers build)', () => {
  it('signs an RS256 token the public key verifies, with the claims the node:crypto signer puts in', async () => {
    const header = await jwtAuth({ applicationId, privateKey }).header();
    const token = header.slice('Bearer '.length);
    const [head, payload, signature] = token.split('.') as [string, string, string];
    expect(verify('sha256', Buffer.from(`${head}.${payload}`), publicKey, Buffer.from(signature, 'base64url'))).toBe(
      true,
    );
    expect(verifySignature(token, publicKey)).toBe(true);
    const ours = jwtPayload(header);
    const theirs = jwtPayload(nodeJwtAuth({ applicationId, privateKey }).header());
    expect(Object.keys(ours)).toEqual(Object.keys(theirs));
    expect(ours.application_id).toBe(applicationId);
    expect((ours.exp as number) - (ours.iat as number)).toBe(900);
    expect(head).toBe(nodeJwtAuth({ applicationId, privateKey }).header().slice(7).split('.')[0]);
  });

  it('signs once: concurrent first sends share the pending signature, later ones get the cached header', async () => {
    const sign = vi.spyOn(crypto.subtle, 'sign');
    try {
      const auth = jwtAuth({ applicationId, privateKey });
      const first = auth.header();
      expect(first).toBeInstanceOf(Promise);
      const [a, b] = await Promise.all([first, auth.header()]);
      expect(a).toBe(b);
      expect(auth.header()).toBe(a);
      expect(sign).toHaveBeenCalledTimes(1);
      auth.invalidate();
      expect(await auth.header()).not.toBe(a);
      expect(sign).toHaveBeenCalledTimes(2);
    } finally {
      sign.mockRestore();
    }
  });

  it('accepts a PKCS#1 key (BEGIN RSA PRIVATE KEY) and escaped newlines from an env var', async () => {
    const pkcs1 = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const escaped = pkcs1.privateKey.replace(/\n/g, '\\n');
    const token = (await jwtAuth({ applicationId, privateKey: escaped }).header()).slice(7);
    expect(verifySignature(token, createPublicKey(pkcs1.publicKey).export({ type: 'spki', format: 'pem' }))).toBe(true);
  });

  it('refuses a file path, which needs a file system, with what to pass instead', () => {
    expect(() => loadPrivateKey('./private.key')).toThrow(/PEM text here/);
  });

  it('refuses text that is not PEM and keys that are not RSA at creation, and a short RSA key on the first header', async () => {
    expect(() =>
      jwtAuth({ applicationId, privateKey: '-----BEGIN PRIVATE KEY-----\n%%%\n-----END PRIVATE KEY-----' }),
    ).toThrow(ValidationError);
    const ec = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const small = generateKeyPairSync('rsa', {
      modulusLength: 1024,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    // Not RSA: refused at creation, as on Node, not at the first send.
    const ecError = refusalNow(() => jwtAuth({ applicationId, privateKey: ec.privateKey }));
    expect(ecError).toBeInstanceOf(ValidationError);
    expect((ecError as Error).message).toMatch(/not an RSA key/);
    expect(String(ecError)).not.toContain(ec.privateKey.split('\n')[1]);
    const ed = generateKeyPairSync('ed25519', {
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    expect(() => jwtAuth({ applicationId, privateKey: ed.privateKey })).toThrow(/not an RSA key/);
    const smallError = await refusal(
      Promise.resolve(jwtAuth({ applicationId, privateKey: small.privateKey }).header()),
    );
    expect(smallError).toBeInstanceOf(ValidationError);
    expect((smallError as Error).message).toMatch(/1024 bits/);
  });
});
