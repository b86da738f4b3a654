import { inspect } from 'node:util';
import { runInNewContext } from 'node:vm';
import { describe, expect, it, vi } from 'vitest';
import * as errors from '../src/errors.js';
import {
  ClientRateLimitError,
  ERROR_CODES,
  isClientRateLimitError,
  isMessengerError,
  isMissingDependencyError,
  isNetworkError,
  isPageNotLinkedError,
  isRateLimitError,
  isStoreCapabilityError,
  isStoreError,
  isValidationError,
  isVonageApiError,
  isWebhookVerificationError,
  isWindowClosedError,
  MessengerError,
  type MessengerErrorCode,
  MissingDependencyError,
  NetworkError,
  PageNotLinkedError,
  RateLimitError,
  StoreCapabilityError,
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
// Fields no constructor copies: if one ever did (Object.assign(this, details)), they would show.
const stray = { privateKey: SECRETS[0], apiSecret: SECRETS[1] };

interface Case {
  make: () => MessengerError;
  cls: abstract new (...args: never[]) => MessengerError;
  code: MessengerErrorCode;
  fields: string[];
  /** The is* guards (besides isMessengerError) that answer true; every other one answers false. */
  guards?: ((value: unknown) => boolean)[];
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
    guards: [isValidationError],
  },
  WindowClosedError: {
    make: () =>
      new WindowClosedError('window closed', {
        ...stray,
        reason: 'window_closed',
        expiredAt: new Date('2026-06-02T09:29:00Z'),
        alternatives: [{ category: 'message_tag', tag: 'HUMAN_AGENT', until: new Date('2026-06-08T09:29:00Z') }],
      }),
    cls: WindowClosedError,
    code: 'WINDOW_CLOSED',
    fields: [...BASE_FIELDS, 'alternatives', 'expiredAt', 'reason'],
    guards: [isWindowClosedError],
  },
  PageNotLinkedError: {
    make: () =>
      new PageNotLinkedError('page not linked', {
        ...stray,
        pageId: '102290129340398',
        since: new Date('2026-06-01T00:00:00Z'),
        errorCode: '1370',
      }),
    cls: PageNotLinkedError,
    code: 'PAGE_NOT_LINKED',
    fields: [...BASE_FIELDS, 'errorCode', 'pageId', 'since'],
    guards: [isPageNotLinkedError],
  },
  WebhookVerificationError: {
    make: () => new WebhookVerificationError('bad signature', 'bad_signature'),
    cls: WebhookVerificationError,
    code: 'WEBHOOK_VERIFICATION_FAILED',
    fields: [...BASE_FIELDS, 'reason'],
    guards: [isWebhookVerificationError],
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
    guards: [isVonageApiError],
  },
  RateLimitError: {
    make: () => new RateLimitError('Too many requests', { status: 429, title: 'Rate Limit Hit' }, 1_500),
    cls: RateLimitError,
    code: 'RATE_LIMITED',
    fields: [...BASE_FIELDS, 'detail', 'instance', 'invalidParameters', 'retryAfterMs', 'status', 'title', 'type'],
    guards: [isVonageApiError, isRateLimitError],
  },
  ClientRateLimitError: {
    make: () =>
      new ClientRateLimitError('over the limit', {
        ...stray,
        pageId: '102290129340398',
        perSecond: 1,
        retryAfterMs: 250,
      }),
    cls: ClientRateLimitError,
    code: 'CLIENT_RATE_LIMITED',
    fields: [...BASE_FIELDS, 'pageId', 'perSecond', 'retryAfterMs'],
    guards: [isClientRateLimitError],
  },
  StoreError: {
    make: () => new StoreError('store unreachable', { cause: secretCause() }),
    cls: StoreError,
    code: 'STORE_ERROR',
    fields: BASE_FIELDS,
    guards: [isStoreError],
  },
  NetworkError: {
    make: () => new NetworkError('connect ECONNREFUSED 127.0.0.1:9', { cause: secretCause() }),
    cls: NetworkError,
    code: 'NETWORK_ERROR',
    fields: BASE_FIELDS,
    guards: [isNetworkError],
  },
  MissingDependencyError: {
    make: () => new MissingDependencyError('install @vonage/messages', ['@vonage/messages'], { cause: secretCause() }),
    cls: MissingDependencyError,
    code: 'MISSING_DEPENDENCY',
    fields: [...BASE_FIELDS, 'packages'],
    guards: [isMissingDependencyError],
  },
  StoreCapabilityError: {
    make: () => new StoreCapabilityError('the store has no listByLastInbound', 'listByLastInbound'),
    cls: StoreCapabilityError,
    code: 'MISSING_STORE_CAPABILITY',
    fields: [...BASE_FIELDS, 'capability'],
    guards: [isStoreCapabilityError],
  },
};

// Every exported is* guard, found by name, so that a new class without a guard fails below.
const guards = Object.entries(errors)
  .filter(([name, value]) => name.startsWith('is') && name !== 'isMessengerError' && typeof value === 'function')
  .map(([, value]) => value as (value: unknown) => boolean);

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
    for (const guard of guards) expect(guard(err)).toBe(c.guards?.includes(guard) ?? false);
  });

  it('has a literal name that survives minification (not read from the constructor)', () => {
    expect(Object.getOwnPropertyDescriptor(c.make(), 'name')?.value).toBe(name);
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

  it('util.inspect shows no secret from its input (the cause is shown as the caller gave it)', () => {
    const err = c.make();
    Reflect.deleteProperty(err, 'cause');
    const shown = inspect(err, { depth: 10, showHidden: true });
    for (const secret of SECRETS) expect(shown).not.toContain(secret);
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
      for (const guard of c.guards ?? []) expect(guard(copy)).toBe(true);
    }
  });
});

describe('the error catalogue', () => {
  it('has a case above, with a guard, for every exported class, and a class for every code', () => {
    const classes = Object.entries(errors).filter(
      ([, value]) => typeof value === 'function' && value.prototype instanceof Error,
    );
    expect(classes.map(([name]) => name).sort()).toEqual(Object.keys(cases).sort());
    for (const [name] of classes) if (name !== 'MessengerError') expect(cases[name]?.guards?.length).toBeGreaterThan(0);
    expect(new Set(Object.values(cases).map((c) => c.code))).toEqual(new Set(ERROR_CODES));
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

  it('ClientRateLimitError is not a VonageApiError: Vonage was never asked', () => {
    const err = cases.ClientRateLimitError?.make();
    expect(err).not.toBeInstanceOf(VonageApiError);
    expect(isVonageApiError(err)).toBe(false);
    expect(err).toMatchObject({ retryAfterMs: 250, pageId: '102290129340398', perSecond: 1 });
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
