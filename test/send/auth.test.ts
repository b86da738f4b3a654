import { execFile } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { tokenGenerate, verifySignature } from '@vonage/jwt';
import jsonwebtoken from 'jsonwebtoken';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { basicAuth, jwtAuth, signRs256 } from '../../src/send/auth.js';
import { jwtPayload, testKeys } from './fake-api.js';

const { privateKey, publicKey } = testKeys();
const applicationId = 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab';

afterEach(() => {
  vi.useRealTimers();
});

describe('jwtAuth', () => {
  it('signs one token for many requests', () => {
    const sign = vi.fn(signRs256);
    const auth = jwtAuth({ applicationId, privateKey, sign });
    const headers = Array.from({ length: 100 }, () => auth.header());
    expect(sign).toHaveBeenCalledTimes(1);
    expect(new Set(headers).size).toBe(1);
    expect(headers[0]).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('puts the application id and a 900 s lifetime in the token', () => {
    const auth = jwtAuth({ applicationId, privateKey });
    const claims = jwtPayload(auth.header());
    expect(claims.application_id).toBe(applicationId);
    expect((claims.exp as number) - (claims.iat as number)).toBe(900);
    expect(typeof claims.jti).toBe('string');
  });

  it('renews the token 60 s before it expires, not before', () => {
    vi.useFakeTimers({ now: new Date('2026-05-01T10:00:00Z') });
    const sign = vi.fn(signRs256);
    const auth = jwtAuth({ applicationId, privateKey, sign });
    const first = auth.header();
    vi.setSystemTime(new Date('2026-05-01T10:13:59.999Z')); // 900 s - 60 s - 1 ms later
    expect(auth.header()).toBe(first);
    expect(sign).toHaveBeenCalledTimes(1);
    vi.setSystemTime(new Date('2026-05-01T10:14:00Z'));
    const second = auth.header();
    expect(sign).toHaveBeenCalledTimes(2);
    expect(second).not.toBe(first);
    expect(jwtPayload(second).jti).not.toBe(jwtPayload(first).jti);
    expect(jwtPayload(second).iat).toBe(Date.parse('2026-05-01T10:14:00Z') / 1000);
  });

  it('signs a fresh token after invalidate (a 401)', () => {
    const sign = vi.fn(signRs256);
    const auth = jwtAuth({ applicationId, privateKey, sign });
    auth.header();
    auth.invalidate();
    auth.header();
    expect(sign).toHaveBeenCalledTimes(2);
  });

  it('honours a custom ttl', () => {
    let now = 1_000_000;
    const sign = vi.fn(signRs256);
    const auth = jwtAuth({
      applicationId,
      privateKey,
      sign,
      ttlSeconds: 120,
      renewBeforeSeconds: 30,
      clock: () => now,
    });
    auth.header();
    now += 89_000;
    auth.header();
    expect(sign).toHaveBeenCalledTimes(1);
    now += 1_000;
    auth.header();
    expect(sign).toHaveBeenCalledTimes(2);
  });

  it("signs a token that jsonwebtoken verifies as RS256 with the public key, with exactly Vonage's claims", () => {
    const before = Math.floor(Date.now() / 1000);
    const token = jwtAuth({ applicationId, privateKey }).header().slice('Bearer '.length);
    const decoded = jsonwebtoken.verify(token, publicKey, { algorithms: ['RS256'], complete: true });
    expect(decoded.header).toEqual({ alg: 'RS256', typ: 'JWT' });
    const claims = decoded.payload as Record<string, unknown>;
    expect(Object.keys(claims).sort()).toEqual(['application_id', 'exp', 'iat', 'jti']);
    expect(claims.application_id).toBe(applicationId);
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.iat).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(claims.exp).toBe((claims.iat as number) + 900);
    expect(claims.jti).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Another public key must not verify it: the signature is real, not merely well-formed.
    const other = testKeys().publicKey;
    expect(() => jsonwebtoken.verify(token, other, { algorithms: ['RS256'] })).toThrow(/invalid signature/);
  });

  it('signs a token that @vonage/jwt verifySignature accepts, with the claim names and header of its tokenGenerate', () => {
    const ours = jwtAuth({ applicationId, privateKey }).header().slice('Bearer '.length);
    expect(verifySignature(ours, publicKey)).toBe(true);
    expect(verifySignature(ours, testKeys().publicKey)).toBe(false);
    const theirs = tokenGenerate(applicationId, privateKey);
    const segment = (token: string, i: number) =>
      JSON.parse(Buffer.from(token.split('.')[i] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(segment(ours, 0)).toEqual(segment(theirs, 0));
    expect(Object.keys(segment(ours, 1))).toEqual(Object.keys(segment(theirs, 1)));
  });

  it('accepts the key as PKCS#8 or PKCS#1 PEM, string or Buffer, and parses it once', () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pkcs1 = pair.privateKey.export({ type: 'pkcs1', format: 'pem' });
    const spki = pair.publicKey.export({ type: 'spki', format: 'pem' });
    for (const key of [privateKey, Buffer.from(privateKey)]) {
      const token = jwtAuth({ applicationId, privateKey: key }).header().slice(7);
      expect(verifySignature(token, publicKey)).toBe(true);
    }
    const keys: KeyObject[] = [];
    const sign = vi.fn((claims: Parameters<typeof signRs256>[0], key: KeyObject) => {
      keys.push(key);
      return signRs256(claims, key);
    });
    const auth = jwtAuth({ applicationId, privateKey: pkcs1, sign });
    const token = auth.header().slice(7);
    auth.invalidate();
    auth.header();
    expect(verifySignature(token, spki)).toBe(true);
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
  });

  it('refuses, when created, a key that cannot sign RS256 (EC, Ed25519, RSA-PSS, RSA under 2048 bits), naming the kind and never the key', () => {
    const pem = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }) as string;
    const cases: [string, RegExp][] = [
      [pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey), /it is a key of type ec;/],
      [pem(generateKeyPairSync('ed25519').privateKey), /it is a key of type ed25519;/],
      [pem(generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey), /it is a key of type rsa-pss;/],
      [pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey), /it is an RSA key of 1024 bits;/],
    ];
    for (const [key, kind] of cases) {
      const sign = vi.fn(signRs256);
      const error = (() => {
        try {
          jwtAuth({ applicationId, privateKey: key, sign });
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).message).toMatch(/cannot sign an RS256 JWT/);
      expect((error as ValidationError).message).toMatch(kind);
      expect((error as ValidationError).issues).toEqual([{ path: 'privateKey', message: 'cannot sign an RS256 JWT' }]);
      const shown = `${(error as Error).message} ${JSON.stringify(error)} ${inspect(error)}`;
      expect(shown).not.toContain(key.split('\n')[1] ?? '');
      expect(sign).not.toHaveBeenCalled();
    }
  });

  it('refuses text that is not a private key with a ValidationError that does not echo it', () => {
    const fake = '-----BEGIN PRIVATE KEY-----\nTOPSECRETMATERIAL\n-----END PRIVATE KEY-----';
    for (const key of [fake, Buffer.from(fake), publicKey]) {
      const error = (() => {
        try {
          jwtAuth({ applicationId, privateKey: key });
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toBe('privateKey is not a valid PEM private key');
      expect(`${JSON.stringify(error)} ${inspect(error)}`).not.toContain('TOPSECRETMATERIAL');
    }
  });

  it('writes no key to stderr while signing with DEBUG=vonage:* set (a child process, both transports)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vm-debug-'));
    const script = join(dir, 'sign.mts');
    const src = (path: string) => pathToFileURL(fileURLToPath(new URL(`../../src/${path}`, import.meta.url))).href;
    writeFileSync(
      script,
      [
        `import createDebug from '${pathToFileURL(createRequire(import.meta.url).resolve('debug')).href}';`,
        `import { createMessenger } from '${src('messenger.ts')}';`,
        `import { jwtAuth } from '${src('send/auth.ts')}';`,
        `const privateKey = ${JSON.stringify(privateKey)};`,
        `const applicationId = ${JSON.stringify(applicationId)};`,
        'for (const transport of ["http", "vonage-sdk"] as const) {',
        '  await createMessenger({ applicationId, privateKey, transport, apiHost: "http://127.0.0.1:9" }).close();',
        '}',
        'const auth = jwtAuth({ applicationId, privateKey });',
        'auth.header(); auth.invalidate(); auth.header();',
        // Proves the variable reached `debug`: under it, @vonage/jwt would print the key.
        'console.log("debug on:", createDebug.enabled("vonage:jwt:tokenGenerate"));',
      ].join('\n'),
    );
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', script],
        {
          cwd: fileURLToPath(new URL('../..', import.meta.url)),
          env: { PATH: process.env.PATH, DEBUG: 'vonage:*' },
          timeout: 60_000,
        },
        (error, stdout, stderr) => resolve({ code: error ? 1 : 0, stdout, stderr }),
      );
    });
    expect(run.stdout).toContain('debug on: true');
    expect(run.code).toBe(0);
    expect(run.stderr).not.toContain('PRIVATE KEY');
    expect(run.stderr).not.toContain(privateKey.split('\n')[1] ?? '');
  });

  it('never shows the key or the token in inspect or JSON', () => {
    const auth = jwtAuth({ applicationId, privateKey });
    const token = auth.header();
    for (const text of [inspect(auth, { showHidden: true, depth: 5 }), JSON.stringify(auth), String(auth)]) {
      expect(text).not.toContain('PRIVATE KEY');
      expect(text).not.toContain(token.slice(7, 40));
    }
  });
});

describe('basicAuth', () => {
  it('builds the Basic header from key and secret', () => {
    expect(basicAuth('abcd1234', 's3cr3t').header()).toBe(`Basic ${Buffer.from('abcd1234:s3cr3t').toString('base64')}`);
  });

  it('never shows the secret in inspect or JSON', () => {
    const auth = basicAuth('abcd1234', 'very-secret-value');
    const encoded = Buffer.from('abcd1234:very-secret-value').toString('base64');
    for (const text of [inspect(auth, { showHidden: true, depth: 5 }), JSON.stringify(auth)]) {
      expect(text).not.toContain('very-secret-value');
      expect(text).not.toContain(encoded);
    }
  });
});
