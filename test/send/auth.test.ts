import { inspect } from 'node:util';
import { tokenGenerate } from '@vonage/jwt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { basicAuth, jwtAuth } from '../../src/send/auth.js';
import { jwtPayload, testKeys } from './fake-api.js';

const { privateKey } = testKeys();
const applicationId = 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab';

afterEach(() => {
  vi.useRealTimers();
});

describe('jwtAuth', () => {
  it('signs one token for many requests', () => {
    const sign = vi.fn(tokenGenerate);
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
    const sign = vi.fn(tokenGenerate);
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
    const sign = vi.fn(tokenGenerate);
    const auth = jwtAuth({ applicationId, privateKey, sign });
    auth.header();
    auth.invalidate();
    auth.header();
    expect(sign).toHaveBeenCalledTimes(2);
  });

  it('honours a custom ttl', () => {
    let now = 1_000_000;
    const sign = vi.fn(tokenGenerate);
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
