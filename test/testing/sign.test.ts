import { describe, expect, it } from 'vitest';
import { inboundText } from '../../src/testing/builders.js';
import { signedWebhookRequest, signWebhook } from '../../src/testing/sign.js';
import { verifyWebhookSignature } from '../../src/webhooks/verify.js';

const SECRET = 'sign-test-secret';
const body = inboundText();

describe('signWebhook: refuses mistakes, not hostile tokens', () => {
  it('refuses an empty or missing secret', () => {
    expect(() => signWebhook(body, '')).toThrow(
      new TypeError('signWebhook: secret must be a non-empty string, got "" (a string)'),
    );
    expect(() => signWebhook(body, undefined as never)).toThrow(/secret must be a non-empty string, got nothing/);
  });

  it('refuses an issuedAt that is no instant', () => {
    expect(() => signWebhook(body, SECRET, { issuedAt: 'yesterday' as never })).toThrow(
      new TypeError('signWebhook: issuedAt must be a Date or epoch milliseconds, got "yesterday" (a string)'),
    );
    expect(() => signWebhook(body, SECRET, { issuedAt: new Date('x') })).toThrow(
      new RangeError('signWebhook: issuedAt is an invalid Date'),
    );
    expect(() => signWebhook(body, SECRET, { issuedAt: Number.NaN })).toThrow(RangeError);
  });

  it('refuses an option it does not know, such as applicationID for applicationId', () => {
    expect(() => signWebhook(body, SECRET, { applicationID: 'app' } as never)).toThrow(
      /^signWebhook has no option "applicationID"; its options are apiKey, applicationId, issuedAt,/,
    );
    expect(() => signedWebhookRequest('http://localhost/', body, SECRET, { apiKEY: 'k' } as never)).toThrow(TypeError);
  });

  it('refuses a body that is neither text nor an object, and claims of the wrong type', () => {
    expect(() => signWebhook(42 as never, SECRET)).toThrow(/^signWebhook: body must be the string to send/);
    expect(() => signWebhook(body, SECRET, { applicationId: 42 as never })).toThrow(/applicationId must be a string/);
    expect(() => signWebhook(body, SECRET, { claims: 'iss=x' as never })).toThrow(/claims must be an object/);
  });

  it('still signs every hostile token the docs describe', async () => {
    const odd = signWebhook('{"not":"vonage"}', SECRET, {
      issuer: '',
      jti: '',
      payloadHash: '0'.repeat(64),
      issuedAt: 0,
      claims: { api_key: undefined, iat: 'soon', extra: [1, 2] },
      header: { alg: 'none' },
    });
    expect(odd.claims).toEqual({ iat: 'soon', jti: '', iss: '', payload_hash: '0'.repeat(64), extra: [1, 2] });
    expect(odd.body).toBe('{"not":"vonage"}');
    const fine = signWebhook(body, SECRET, { applicationId: 'app-1', issuedAt: new Date() });
    const claims = await verifyWebhookSignature(fine, { signatureSecret: SECRET, applicationId: 'app-1' });
    expect(claims.application_id).toBe('app-1');
  });
});
