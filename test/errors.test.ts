import { runInNewContext } from 'node:vm';
import { describe, expect, it, vi } from 'vitest';
import {
  isMessengerError,
  isPageNotLinkedError,
  isVonageApiError,
  isWindowClosedError,
  MessengerError,
  type MessengerErrorCode,
  NetworkError,
  PageNotLinkedError,
  RateLimitError,
  StoreError,
  ValidationError,
  VonageApiError,
  type VonageProblem,
  WebhookVerificationError,
  WindowClosedError,
} from '../src/errors.js';

// Text that must never reach a log line through toJSON().
const SECRETS = [
  '-----BEGIN PRIVATE KEY-----MIIEvQIBADANBgkq',
  'apiSecret=sk_live_9f8e7d6c',
  'signatureSecret:whsec_0123456789abcdef',
  'Bearer eyJhbGciOiJSUzI1NiJ9.secret.payload',
];
const secretCause = () => {
  const cause = new Error(`request failed with ${SECRETS.join(' ')}`) as Error & Record<string, unknown>;
  cause.config = { privateKey: SECRETS[0], headers: { Authorization: SECRETS[3] } };
  return cause;
};

const BASE_FIELDS = ['code', 'message', 'name'];

interface Case {
  make: () => MessengerError;
  cls: abstract new (...args: never[]) => MessengerError;
  code: MessengerErrorCode;
  fields: string[];
  guard?: (value: unknown) => boolean;
}

const problem: VonageProblem = {
  status: 422,
  type: 'https://developer.nexmo.com/api-errors/messages-olympus#1150',
  title: 'Invalid params',
  detail: 'The value of one or more parameters is invalid.',
  instance: 'bf0ca0bf927b3b52e3cb03217e1a1ddf',
  invalidParameters: [{ name: 'messenger.tag', reason: 'unknown tag' }],
};

const cases: Record<string, Case> = {
  MessengerError: {
    make: () => new MessengerError('something failed', { cause: secretCause() }),
    cls: MessengerError,
    code: 'MESSENGER_ERROR',
    fields: BASE_FIELDS,
  },
  ValidationError: {
    make: () => new ValidationError('Invalid PSID', [{ path: 'to', message: 'must contain only digits' }]),
    cls: ValidationError,
    code: 'VALIDATION_ERROR',
    fields: [...BASE_FIELDS, 'issues'],
  },
  WindowClosedError: {
    make: () =>
      new WindowClosedError('window closed', {
        reason: 'window_closed',
        expiredAt: new Date('2026-06-02T09:29:00Z'),
        alternatives: [{ category: 'message_tag', tag: 'HUMAN_AGENT', until: new Date('2026-06-08T09:29:00Z') }],
      }),
    cls: WindowClosedError,
    code: 'WINDOW_CLOSED',
    fields: [...BASE_FIELDS, 'alternatives', 'expiredAt', 'reason'],
    guard: isWindowClosedError,
  },
  PageNotLinkedError: {
    make: () =>
      new PageNotLinkedError('page not linked', {
        pageId: '102290129340398',
        since: new Date('2026-06-01T00:00:00Z'),
        errorCode: '1370',
      }),
    cls: PageNotLinkedError,
    code: 'PAGE_NOT_LINKED',
    fields: [...BASE_FIELDS, 'errorCode', 'pageId', 'since'],
    guard: isPageNotLinkedError,
  },
  WebhookVerificationError: {
    make: () => new WebhookVerificationError('bad signature', 'bad_signature'),
    cls: WebhookVerificationError,
    code: 'WEBHOOK_VERIFICATION_FAILED',
    fields: [...BASE_FIELDS, 'reason'],
  },
  VonageApiError: {
    // A problem object carrying a stray secret field: only the RFC 7807 fields may come out.
    make: () =>
      new VonageApiError('Vonage answered 422', { ...problem, apiSecret: SECRETS[1] } as VonageProblem, {
        cause: secretCause(),
      }),
    cls: VonageApiError,
    code: 'VONAGE_API_ERROR',
    fields: [...BASE_FIELDS, 'detail', 'instance', 'invalidParameters', 'status', 'title', 'type'],
    guard: isVonageApiError,
  },
  RateLimitError: {
    make: () => new RateLimitError('Too many requests', { status: 429, title: 'Rate Limit Hit' }, 1_500),
    cls: RateLimitError,
    code: 'RATE_LIMITED',
    fields: [...BASE_FIELDS, 'detail', 'instance', 'invalidParameters', 'retryAfterMs', 'status', 'title', 'type'],
    guard: isVonageApiError,
  },
  StoreError: {
    make: () => new StoreError('store unreachable', { cause: secretCause() }),
    cls: StoreError,
    code: 'STORE_ERROR',
    fields: BASE_FIELDS,
  },
  NetworkError: {
    make: () => new NetworkError('connect ECONNREFUSED 127.0.0.1:9', { cause: secretCause() }),
    cls: NetworkError,
    code: 'NETWORK_ERROR',
    fields: BASE_FIELDS,
  },
};

const guards = { isWindowClosedError, isPageNotLinkedError, isVonageApiError };

describe.each(Object.entries(cases))('%s', (name, c) => {
  it('has its stable code and its class name', () => {
    const err = c.make();
    expect(err.code).toBe(c.code);
    expect(err.name).toBe(name);
    expect(String(err)).toMatch(new RegExp(`^${name}: `));
  });

  it('is an Error, a MessengerError and its own class', () => {
    const err = c.make();
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(MessengerError);
    expect(err).toBeInstanceOf(c.cls);
    expect(isMessengerError(err)).toBe(true);
  });

  it('answers true to its own is* guard and false to the others', () => {
    const err = c.make();
    for (const guard of Object.values(guards)) expect(guard(err)).toBe(guard === c.guard);
  });

  it('toJSON has only the allow-listed fields, and no secret from the cause or input', () => {
    const err = c.make();
    const json = err.toJSON();
    expect(Object.keys(json).sort()).toEqual([...c.fields].sort());
    expect(json).not.toHaveProperty('stack');
    expect(json).not.toHaveProperty('cause');
    const text = JSON.stringify(err);
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(json)));
    for (const secret of SECRETS) {
      expect(text).not.toContain(secret);
      expect(err.message).not.toContain(secret);
    }
  });

  it('keeps its code and name through a JSON round trip, for logs and queues', () => {
    const copy = JSON.parse(JSON.stringify(c.make())) as Record<string, unknown>;
    expect(copy.code).toBe(c.code);
    expect(copy.name).toBe(name);
  });

  it('still answers the guards when copied with its own properties (spread, Object.assign)', () => {
    const err = c.make();
    for (const copy of [{ ...err }, Object.assign({}, err)]) {
      expect(isMessengerError(copy)).toBe(true);
      if (c.guard) expect(c.guard(copy)).toBe(true);
    }
  });
});

describe('causes', () => {
  it('keep the original cause on the error for debugging, outside toJSON', () => {
    const cause = secretCause();
    expect(new NetworkError('failed', { cause }).cause).toBe(cause);
    expect(new StoreError('failed', { cause }).cause).toBe(cause);
    expect(new VonageApiError('failed', { status: 500 }, { cause }).cause).toBe(cause);
  });

  it('have no cause property when none was given', () => {
    expect('cause' in new MessengerError('plain')).toBe(false);
  });
});

describe('serialized details', () => {
  it('WindowClosedError writes its dates as ISO strings', () => {
    const json = cases.WindowClosedError?.make().toJSON();
    expect(json?.expiredAt).toBe('2026-06-02T09:29:00.000Z');
    expect(json?.alternatives).toEqual([
      { category: 'message_tag', tag: 'HUMAN_AGENT', until: '2026-06-08T09:29:00.000Z' },
    ]);
  });

  it('VonageApiError carries the parsed problem body, not only the status', () => {
    const err = cases.VonageApiError?.make() as VonageApiError;
    expect(err).toMatchObject({
      status: 422,
      title: 'Invalid params',
      detail: problem.detail,
      invalidParameters: problem.invalidParameters,
    });
  });

  it('RateLimitError says how long to wait and is also a VonageApiError', () => {
    const err = cases.RateLimitError?.make() as RateLimitError;
    expect(err.retryAfterMs).toBe(1_500);
    expect(err).toBeInstanceOf(VonageApiError);
    expect(err.status).toBe(429);
  });
});

describe('the is* guards', () => {
  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a string', 'WINDOW_CLOSED'],
    ['a plain Error', new Error('x')],
    ['a look-alike without the brand', { name: 'WindowClosedError', code: 'WINDOW_CLOSED', reason: 'window_closed' }],
  ])('refuse %s', (_what, value) => {
    expect(isMessengerError(value)).toBe(false);
    expect(isWindowClosedError(value)).toBe(false);
    expect(isVonageApiError(value)).toBe(false);
    expect(isPageNotLinkedError(value)).toBe(false);
  });

  it('recognize an error thrown by a second copy of the package (instanceof does not)', async () => {
    vi.resetModules();
    const copy = (await import('../src/errors.js')) as typeof import('../src/errors.js');
    expect(copy.WindowClosedError).not.toBe(WindowClosedError);
    const foreign = new copy.WindowClosedError('closed', { reason: 'window_closed' });
    expect(foreign).not.toBeInstanceOf(WindowClosedError);
    expect(isWindowClosedError(foreign)).toBe(true);
    expect(isMessengerError(foreign)).toBe(true);
    expect(isVonageApiError(new copy.RateLimitError('slow down', { status: 429 }, 1_000))).toBe(true);
  });

  it('recognize an error from another realm (vm context), where instanceof Error is false', () => {
    const foreign: unknown = runInNewContext(
      "const e = new Error('closed'); e.code = 'WINDOW_CLOSED'; e[Symbol.for('vonage-messenger.error')] = true; e",
    );
    expect(foreign instanceof Error).toBe(false);
    expect(isWindowClosedError(foreign)).toBe(true);
    expect(isPageNotLinkedError(foreign)).toBe(false);
  });
});
