import { generateKeyPairSync } from 'node:crypto';
import { tracingChannel } from 'node:diagnostics_channel';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MESSENGER_CHANNELS, type SendTrace } from '../src/diagnostics.js';
import {
  ClientRateLimitError,
  isVonageApiError,
  MessengerError,
  NetworkError,
  PageNotLinkedError,
  RateLimitError,
  StoreError,
  ValidationError,
  VonageApiError,
  WindowClosedError,
} from '../src/errors.js';
import { conversationKey, pageId, psid } from '../src/ids.js';
import { createMessenger, type Messenger, type MessengerOptions } from '../src/messenger.js';
import { definePolicy } from '../src/policy.js';
import { memoryStore } from '../src/store/memory.js';
import type { SessionStore } from '../src/store/types.js';
import { type FakeApi, jwtPayload, PROBLEMS, startFakeApi, testKeys } from './send/fake-api.js';

const { privateKey } = testKeys();
const applicationId = 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab';
const PAGE = pageId('102290129340398');
const OTHER_PAGE = pageId('100841475479486');
const USER = psid('25381719828140932');
const KEY = conversationKey(PAGE, USER);
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-05-01T10:00:00Z');

let api: FakeApi;
let clock = T0;
const open: Messenger[] = [];

function messenger(options: Partial<MessengerOptions> = {}, host: FakeApi = api): Messenger {
  const m = createMessenger({
    applicationId,
    privateKey,
    apiHost: host.url,
    now: () => new Date(clock),
    retry: { baseDelayMs: 1, maxDelayMs: 50 },
    ...options,
  });
  open.push(m);
  return m;
}

/** The user wrote `agoMs` before the current clock. */
async function userWrote(m: Messenger, agoMs = 60_000, uuid = `in-${Math.random()}`) {
  return m.recordInbound({ from: USER, to: PAGE, timestamp: new Date(clock - agoMs), messageUuid: uuid });
}

/** A memory store on the test clock (its expiry would otherwise use the real date). */
const memStore = () => memoryStore({ now: () => clock });

/** A messenger whose first limiter token comes after its window ended, while the user wrote again. */
function waitsPastTheWindowWhileTheUserWrites() {
  let late = false;
  const store = memStore();
  const takeToken = vi.fn(async () => {
    if (takeToken.mock.calls.length > 1) return { allowed: true, retryAfterMs: 0 };
    late = true;
    await store.recordInbound(KEY, clock + DAY - 1000, 'again');
    return { allowed: false, retryAfterMs: 20 };
  });
  const m = messenger({
    store: { ...store, takeToken },
    rateLimit: { perSecond: 1, maxWaitMs: 1000 },
    now: () => new Date(late ? clock + DAY : clock),
  });
  return { m, takeToken };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  api = await startFakeApi();
});
afterEach(async () => {
  vi.useRealTimers();
  clock = T0;
  api.requests.length = 0;
  api.replies.length = 0;
  api.fallback = { status: 202 };
  for (const m of open.splice(0)) await m.close();
});
afterAll(async () => {
  await api.close();
});

describe('createMessenger options', () => {
  it('needs credentials', () => {
    expect(() => createMessenger({})).toThrow(ValidationError);
    expect(() => createMessenger({ applicationId })).toThrow(/applicationId and privateKey/);
    expect(() => createMessenger({ apiKey: 'abcd1234' })).toThrow(/credentials missing/);
  });

  it('refuses a private key that is not a key, without echoing it', () => {
    const fake = '-----BEGIN PRIVATE KEY-----\nTOPSECRETMATERIAL\n-----END PRIVATE KEY-----';
    const error = (() => {
      try {
        createMessenger({ applicationId, privateKey: fake });
      } catch (e) {
        return e as ValidationError;
      }
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect(error?.message).toMatch(/not a valid PEM private key/);
    expect(JSON.stringify(error)).not.toContain('TOPSECRETMATERIAL');
    expect(inspect(error)).not.toContain('TOPSECRETMATERIAL');
  });

  it('refuses a key that parses but cannot sign RS256 (EC, RSA under 2048 bits) at creation', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    for (const key of [ec, small]) {
      expect(() => createMessenger({ applicationId, privateKey: key, apiHost: api.url })).toThrow(
        /cannot sign an RS256 JWT/,
      );
    }
  });

  it('reads the key from a file path, and from PEM with escaped newlines (an env var)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vm-key-'));
    const file = join(dir, 'private.key');
    writeFileSync(file, privateKey);
    for (const key of [file, privateKey.replace(/\n/g, '\\n'), Buffer.from(privateKey)]) {
      const m = messenger({ privateKey: key });
      await userWrote(m);
      await m.sendText({ from: PAGE, to: USER, text: 'hi' });
    }
    expect(api.requests).toHaveLength(3);
    expect(() => createMessenger({ applicationId, privateKey: join(dir, 'missing.key') })).toThrow(/readable file/);
  });

  it('refuses an http apiHost that is not loopback, unknown options and bad pages', () => {
    expect(() => createMessenger({ apiKey: 'k', apiSecret: 's', apiHost: 'http://api.nexmo.com' })).toThrow(/https/);
    expect(() => createMessenger({ apiKey: 'k', apiSecret: 's', apiHost: 'http://localhost:3000' })).not.toThrow();
    expect(() => createMessenger({ apiKey: 'k', apiSecret: 's', ...{ privatekey: 'x' } } as MessengerOptions)).toThrow(
      ValidationError,
    );
    expect(() => createMessenger({ apiKey: 'k', apiSecret: 's', pages: ['not-a-page'] })).toThrow(/pages/);
    expect(() => createMessenger({ apiKey: 'k', apiSecret: 's', pages: [] })).toThrow(/at least one/);
  });

  it('names the field and the reason of a bad rateLimit or retry value', () => {
    const cases: [Partial<MessengerOptions>, RegExp][] = [
      [{ rateLimit: { perSecond: Number.NaN } }, /rateLimit\.perSecond: rateLimit\.perSecond must be a finite number/],
      [{ rateLimit: { mediaPerSecond: Number.POSITIVE_INFINITY } }, /rateLimit\.mediaPerSecond: .*finite number/],
      [{ rateLimit: { burst: 1.5 } }, /rateLimit\.burst: rateLimit\.burst must be an integer/],
      [{ rateLimit: { maxWaitMs: Number.NaN } }, /rateLimit\.maxWaitMs: rateLimit\.maxWaitMs must be a number/],
      [{ rateLimit: 'yes' as never }, /rateLimit must be true, false or \{/],
      [{ retry: { baseDelayMs: Number.NaN } }, /retry\.baseDelayMs: retry\.baseDelayMs must be a number/],
      [{ retry: true as never }, /retry must be false or \{/],
    ];
    for (const [options, message] of cases) {
      expect(() => createMessenger({ apiKey: 'k', apiSecret: 's', ...options })).toThrow(message);
    }
  });

  it('takes a Date from another realm (a vm context) as a Date', () => {
    const foreign = runInNewContext('new Date(Date.UTC(2026, 4, 1))') as Date;
    expect(foreign instanceof Date).toBe(false);
    expect(() => createMessenger({ apiKey: 'k', apiSecret: 's', now: () => foreign })).not.toThrow();
  });

  it('refuses a now that does not return a valid Date, at creation', () => {
    for (const now of [() => clock, () => new Date(Number.NaN), () => '2026-05-01']) {
      expect(() => createMessenger({ apiKey: 'k', apiSecret: 's', now: now as () => Date })).toThrow(
        /now must return a valid Date/,
      );
    }
  });

  it('never echoes a secret in an options error', () => {
    const error = (() => {
      try {
        createMessenger({ apiKey: 'abcd1234', apiSecret: 'SECRET-VALUE-1', signatureSecret: 42 as unknown as string });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect(`${error?.message}${JSON.stringify(error)}${inspect(error)}`).not.toContain('SECRET-VALUE-1');
  });

  it('keeps credentials out of inspect and JSON of the messenger', () => {
    const m = createMessenger({ apiKey: 'abcd1234', apiSecret: 'SECRET-VALUE-2' });
    open.push(m);
    expect(inspect(m, { depth: 5, showHidden: true })).not.toContain('SECRET-VALUE-2');
    expect(JSON.stringify(m)).not.toContain('SECRET-VALUE-2');
  });
});

describe('bad input', () => {
  it('is refused before the store is read and before the network', async () => {
    const store = memStore();
    const get = vi.spyOn(store, 'get');
    const getPage = vi.spyOn(store, 'getPage');
    const m = messenger({ store });
    for (const send of [
      () => m.sendText({ from: PAGE, to: USER, text: 'x'.repeat(641) }),
      () => m.sendText({ from: '12a', to: USER, text: 'x' }),
      () => m.sendImage({ from: PAGE, to: USER, url: 'http://example.com/a.png' }),
      () => m.sendAudio({ from: PAGE, to: USER, url: 'https://a' }),
      () => m.sendFile({ from: PAGE, to: USER, url: 'https://example.com/a.pdf', clientRef: 'r'.repeat(101) }),
      () =>
        m.sendVideo({ from: PAGE, to: USER, url: 'https://example.com/a.mp4', tag: 'HUMAN_AGENT', category: 'update' }),
      () => m.sendText({ from: PAGE, to: USER, text: 'x', category: 'message_tag' }),
      () => m.sendText(undefined as never),
    ]) {
      await expect(send()).rejects.toBeInstanceOf(ValidationError);
    }
    expect(get).not.toHaveBeenCalled();
    expect(getPage).not.toHaveBeenCalled();
    expect(api.requests).toHaveLength(0);
  });
});

describe('a refused send opens no socket', () => {
  it('no conversation: WindowClosedError, zero connections, zero requests', async () => {
    const fresh = await startFakeApi();
    try {
      const m = messenger({}, fresh);
      const error = await rejection(m.sendText({ from: PAGE, to: USER, text: 'Hello?' }));
      expect(error).toBeInstanceOf(WindowClosedError);
      expect(error).toMatchObject({ code: 'WINDOW_CLOSED', reason: 'no_conversation', alternatives: [] });
      expect(fresh.connections).toBe(0);
      expect(fresh.requests).toHaveLength(0);
    } finally {
      await fresh.close();
    }
  });

  it('25 h after the user wrote: window_closed with HUMAN_AGENT offered, zero connections', async () => {
    const fresh = await startFakeApi();
    try {
      const m = messenger({}, fresh);
      await userWrote(m, 0);
      clock = T0 + 25 * HOUR;
      const error = (await rejection(m.sendText({ from: PAGE, to: USER, text: 'Any news?' }))) as WindowClosedError;
      expect(error).toBeInstanceOf(WindowClosedError);
      expect(error.reason).toBe('window_closed');
      expect(error.expiredAt?.getTime()).toBe(T0 + DAY - 60_000);
      expect(error.alternatives).toEqual([
        expect.objectContaining({
          category: 'message_tag',
          tag: 'HUMAN_AGENT',
          until: new Date(T0 + 7 * DAY - 60_000),
        }),
      ]);
      expect(error.message).toMatch(/HUMAN_AGENT/);
      for (const send of [
        () => m.sendImage({ from: PAGE, to: USER, url: 'https://example.com/a.png' }),
        () => m.sendAudio({ from: PAGE, to: USER, url: 'https://example.com/a.mp3' }),
        () => m.sendVideo({ from: PAGE, to: USER, url: 'https://example.com/a.mp4' }),
        () => m.sendFile({ from: PAGE, to: USER, url: 'https://example.com/a.pdf' }),
        () => m.sendText({ from: PAGE, to: USER, text: 'x', tag: 'POST_PURCHASE_UPDATE' }),
        () => m.sendText({ from: PAGE, to: USER, text: 'x', tag: 'SHIPPING_UPDATE' }),
      ]) {
        await expect(send()).rejects.toBeInstanceOf(WindowClosedError);
      }
      expect(fresh.connections).toBe(0);
      expect(fresh.requests).toHaveLength(0);
      // The alternative it offered does go out.
      await m.sendText({ from: PAGE, to: USER, text: 'A person here: your refund is on its way.', tag: 'HUMAN_AGENT' });
      expect(fresh.requests).toHaveLength(1);
    } finally {
      await fresh.close();
    }
  });

  it('a retired tag is refused with the date and the replacement', async () => {
    const m = messenger();
    await userWrote(m);
    const error = (await rejection(
      m.sendText({ from: PAGE, to: USER, text: 'x', tag: 'ACCOUNT_UPDATE' }),
    )) as WindowClosedError;
    expect(error.reason).toBe('retired_tag');
    expect(error.message).toMatch(/2026-04-27/);
    expect(api.requests).toHaveLength(0);
  });
});

describe('an allowed send', () => {
  it('posts the exact body to /v1/messages with a bearer JWT and records the outbound', async () => {
    const store = memStore();
    const m = messenger({ store });
    await userWrote(m, HOUR);
    api.replies.push({ status: 202, body: { message_uuid: 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab' } });
    const result = await m.sendText({ from: PAGE, to: USER, text: 'Your order has shipped.', clientRef: 'order-42' });
    expect(result).toEqual({
      messageUuid: 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab',
      category: 'response',
      window: 'standard',
      windowExpiresAt: new Date(T0 - HOUR + DAY - 60_000),
    });
    expect(api.requests).toHaveLength(1);
    const [request] = api.requests;
    expect(request?.url).toBe('/v1/messages');
    expect(request?.method).toBe('POST');
    expect(request?.body).toEqual({
      channel: 'messenger',
      message_type: 'text',
      to: USER,
      from: PAGE,
      text: 'Your order has shipped.',
      messenger: { category: 'response' },
      client_ref: 'order-42',
    });
    expect(request?.headers.authorization).toMatch(/^Bearer /);
    expect(jwtPayload(request?.headers.authorization).application_id).toBe(applicationId);
    expect((await store.get(KEY))?.lastOutboundAt).toBe(T0);
  });

  it.each([
    ['sendImage', 'image', 'https://example.com/a.png'],
    ['sendAudio', 'audio', 'https://example.com/a.mp3'],
    ['sendVideo', 'video', 'https://example.com/a.mp4'],
    ['sendFile', 'file', 'https://example.com/a.pdf'],
  ] as const)('%s sends %s by URL', async (method, type, url) => {
    const m = messenger();
    await userWrote(m);
    await m[method]({ from: PAGE, to: USER, url });
    expect(api.requests[0]?.body).toEqual({
      channel: 'messenger',
      message_type: type,
      to: USER,
      from: PAGE,
      [type]: { url },
      messenger: { category: 'response' },
    });
  });

  it('sends category update, and a HUMAN_AGENT tag as message_tag', async () => {
    const m = messenger();
    await userWrote(m, 2 * DAY);
    await expect(m.sendText({ from: PAGE, to: USER, text: 'x', category: 'update' })).rejects.toBeInstanceOf(
      WindowClosedError,
    );
    const result = await m.sendText({ from: PAGE, to: USER, text: 'A person here.', tag: 'HUMAN_AGENT' });
    expect(result).toMatchObject({
      category: 'message_tag',
      window: 'tag',
      tag: 'HUMAN_AGENT',
      windowExpiresAt: new Date(T0 - 2 * DAY + 7 * DAY - 60_000),
    });
    expect(api.requests[0]?.body).toMatchObject({ messenger: { category: 'message_tag', tag: 'HUMAN_AGENT' } });
    clock = T0;
    await userWrote(m, 0);
    await m.sendText({ from: PAGE, to: USER, text: 'x', category: 'update', webhookUrl: 'https://example.com/st' });
    expect(api.requests[1]?.body).toMatchObject({
      messenger: { category: 'update' },
      webhook_url: 'https://example.com/st',
    });
  });

  it('signs one JWT for many sends, and a new one after it expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    const m = messenger();
    await userWrote(m);
    await Promise.all(Array.from({ length: 32 }, () => m.sendText({ from: PAGE, to: USER, text: 'x' })));
    const jtis = new Set(api.requests.map((r) => jwtPayload(r.headers.authorization).jti));
    expect(jtis.size).toBe(1);
    vi.setSystemTime(T0 + 15 * 60 * 1000);
    await m.sendText({ from: PAGE, to: USER, text: 'x' });
    const last = jwtPayload(api.requests.at(-1)?.headers.authorization);
    expect(jtis.has(last.jti)).toBe(false);
    expect(last.iat).toBe((T0 + 15 * 60 * 1000) / 1000);
  });

  it('uses Basic auth with apiKey and apiSecret', async () => {
    const m = createMessenger({
      apiKey: 'abcd1234',
      apiSecret: 's3cr3t',
      apiHost: api.url,
      now: () => new Date(clock),
    });
    open.push(m);
    await userWrote(m);
    await m.sendText({ from: PAGE, to: USER, text: 'x' });
    expect(api.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from('abcd1234:s3cr3t').toString('base64')}`);
  });

  it('honours safetyMarginMs', async () => {
    const m = messenger({ safetyMarginMs: 0 });
    await userWrote(m, 0);
    const result = await m.sendText({ from: PAGE, to: USER, text: 'x' });
    expect(result.windowExpiresAt).toEqual(new Date(T0 + DAY));
  });

  it('follows a custom policy', async () => {
    const m = messenger({ policy: definePolicy({ standardWindowMs: HOUR }) });
    await userWrote(m, 2 * HOUR);
    await expect(m.sendText({ from: PAGE, to: USER, text: 'x' })).rejects.toMatchObject({ reason: 'window_closed' });
  });

  it('resolves even if recording the outbound fails after the message went out', async () => {
    const store: SessionStore = {
      ...memStore(),
      recordOutbound: async () => {
        throw new Error('disk full');
      },
    };
    const m = messenger({ store });
    await userWrote(m);
    await expect(m.sendText({ from: PAGE, to: USER, text: 'x' })).resolves.toMatchObject({ category: 'response' });
    expect(api.requests).toHaveLength(1);
  });
});

describe('answers from Vonage', () => {
  it.each([400, 401, 402, 403, 404, 422, 500] as const)(
    '%i becomes a VonageApiError with the problem fields',
    async (status) => {
      const m = messenger();
      await userWrote(m);
      api.replies.push({ status, body: PROBLEMS[status] });
      const error = (await rejection(m.sendText({ from: PAGE, to: USER, text: 'x' }))) as VonageApiError;
      expect(error).toBeInstanceOf(VonageApiError);
      expect(error).toMatchObject({ status, title: PROBLEMS[status].title, detail: PROBLEMS[status].detail });
      expect(api.requests).toHaveLength(1);
    },
  );

  it('retries a 429 that says Retry-After: 0, then succeeds', async () => {
    const m = messenger();
    await userWrote(m);
    api.replies.push({ status: 429, body: PROBLEMS[429], headers: { 'retry-after': '0' } });
    await expect(m.sendText({ from: PAGE, to: USER, text: 'x' })).resolves.toMatchObject({ category: 'response' });
    expect(api.requests).toHaveLength(2);
  });

  it('gives up on repeated 429s with RateLimitError', async () => {
    const m = messenger({ retry: { retries: 1, baseDelayMs: 1 } });
    await userWrote(m);
    api.fallback = { status: 429, body: PROBLEMS[429] };
    await expect(m.sendText({ from: PAGE, to: USER, text: 'x' })).rejects.toBeInstanceOf(RateLimitError);
    expect(api.requests).toHaveLength(2);
  });

  it('a network failure is a NetworkError, and nothing is recorded as sent', async () => {
    const store = memStore();
    const m = messenger({ store, apiHost: 'http://127.0.0.1:9' });
    await userWrote(m);
    await expect(m.sendText({ from: PAGE, to: USER, text: 'x' })).rejects.toBeInstanceOf(NetworkError);
    expect((await store.get(KEY))?.lastOutboundAt).toBeUndefined();
  });

  it('a 422 "Invalid sender" for a Page that worked before marks it unlinked (1420)', async () => {
    const store = memStore();
    const m = messenger({ store });
    await userWrote(m);
    api.replies.push({
      status: 422,
      body: {
        type: 'https://developer.nexmo.com/api-errors/messages-olympus#1120',
        title: 'Invalid sender',
        detail: 'The `from` parameter is invalid.',
      },
    });
    await expect(m.sendText({ from: PAGE, to: USER, text: 'x' })).rejects.toBeInstanceOf(VonageApiError);
    expect(await m.pageStatus(PAGE)).toMatchObject({ state: 'unlinked', linked: false, errorCode: '1420' });
    await expect(m.sendText({ from: PAGE, to: USER, text: 'x' })).rejects.toBeInstanceOf(PageNotLinkedError);
    expect(api.requests).toHaveLength(1);
  });

  it('a 422 "Invalid recipient" closes the conversation as user_unavailable', async () => {
    const m = messenger();
    await userWrote(m);
    api.replies.push({ status: 422, body: { title: 'Invalid recipient', detail: 'The `to` parameter is invalid.' } });
    await expect(m.sendText({ from: PAGE, to: USER, text: 'x' })).rejects.toBeInstanceOf(VonageApiError);
    await expect(m.sendText({ from: PAGE, to: USER, text: 'x' })).rejects.toMatchObject({ reason: 'user_unavailable' });
    expect(api.requests).toHaveLength(1);
  });
});

describe('store failures fail closed', () => {
  const failing = (method: keyof SessionStore): SessionStore => {
    // Without its one-call read unless that is what fails, so a failing get or getPage is what the send meets.
    const { readForSend, ...store } = memStore();
    return {
      ...store,
      ...(method === 'readForSend' && readForSend !== undefined ? { readForSend } : {}),
      [method]: async () => {
        throw new Error('ECONNREFUSED 127.0.0.1:6379');
      },
    };
  };

  it.each(['get', 'getPage', 'readForSend'] as const)('%s failing: StoreError and zero requests', async (method) => {
    const m = messenger({ store: failing(method) });
    const error = await rejection(m.sendText({ from: PAGE, to: USER, text: 'x' }));
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).cause).toBeInstanceOf(Error);
    expect(api.requests).toHaveLength(0);
    await expect(m.canSend({ from: PAGE, to: USER })).rejects.toBeInstanceOf(StoreError);
  });

  it('recordInbound failing is a StoreError', async () => {
    const m = messenger({ store: failing('recordInbound') });
    await expect(userWrote(m)).rejects.toBeInstanceOf(StoreError);
  });
});

describe('Page links', () => {
  it('an unlinked Page fails fast with PageNotLinkedError that says how to re-link', async () => {
    const store = memStore();
    const m = messenger({ store });
    await userWrote(m);
    await store.setPageLinked(PAGE, false, T0 - 1000, {
      errorCode: '1370',
      errorDetail: 'Expired access Token - Please reauthenticate your Facebook Page with Vonage.',
    });
    const error = (await rejection(m.sendText({ from: PAGE, to: USER, text: 'x' }))) as PageNotLinkedError;
    expect(error).toBeInstanceOf(PageNotLinkedError);
    expect(error).toMatchObject({
      code: 'PAGE_NOT_LINKED',
      pageId: PAGE,
      errorCode: '1370',
      since: new Date(T0 - 1000),
    });
    expect(error.message).toMatch(/Part 1 .*Link Facebook Page/);
    expect(error.message).toMatch(/Part 2 .*Linked social channels/);
    expect(error.message).toContain(`markPageLinked('${PAGE}')`);
    expect(error.message).toContain('1370');
    expect(api.requests).toHaveLength(0);
    await expect(m.canSend({ from: PAGE, to: USER })).rejects.toBeInstanceOf(PageNotLinkedError);

    await m.markPageLinked(PAGE);
    expect(await m.pageStatus(PAGE)).toEqual({
      pageId: PAGE,
      state: 'linked',
      linked: true,
      since: new Date(T0),
      unavailableTags: [],
    });
    await m.sendText({ from: PAGE, to: USER, text: 'x' });
    expect(api.requests).toHaveLength(1);
  });

  it('pageStatus reports unknown, unlinked and linked', async () => {
    const store = memStore();
    const m = messenger({ store });
    expect(await m.pageStatus(PAGE)).toEqual({ pageId: PAGE, state: 'unknown', linked: true, unavailableTags: [] });
    await store.setPageLinked(PAGE, false, T0, { errorCode: '1370', errorDetail: 'Expired access token' });
    expect(await m.pageStatus(PAGE)).toEqual({
      pageId: PAGE,
      state: 'unlinked',
      linked: false,
      since: new Date(T0),
      errorCode: '1370',
      errorDetail: 'Expired access token',
      unavailableTags: [],
    });
    await expect(m.pageStatus('nope')).rejects.toBeInstanceOf(ValidationError);
  });

  it('pageStatus refuses an undeclared Page, as sends and markPageLinked do', async () => {
    const m = messenger({ pages: [PAGE] });
    await expect(m.pageStatus(OTHER_PAGE)).rejects.toBeInstanceOf(ValidationError);
    expect(await m.pageStatus(PAGE)).toMatchObject({ state: 'unknown' });
  });

  it('a new inbound message to an unlinked Page marks it linked again; an old one does not', async () => {
    const store = memStore();
    const m = messenger({ store });
    await store.setPageLinked(PAGE, false, T0 - HOUR, { errorCode: '1370' });
    await m.recordInbound({ from: USER, to: PAGE, timestamp: new Date(T0 - 2 * HOUR), messageUuid: 'old' });
    expect((await m.pageStatus(PAGE)).state).toBe('unlinked');
    await m.recordInbound({ from: USER, to: PAGE, timestamp: new Date(T0 - 1000), messageUuid: 'new' });
    expect(await m.pageStatus(PAGE)).toMatchObject({ state: 'linked', since: new Date(T0 - 1000) });
  });
});

describe('Page registry', () => {
  it('refuses a send from an undeclared Page before the store and the network', async () => {
    const store = memStore();
    const get = vi.spyOn(store, 'get');
    const m = messenger({ store, pages: [PAGE] });
    const error = await rejection(m.sendText({ from: OTHER_PAGE, to: USER, text: 'x' }));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([
      { path: 'from', message: expect.stringMatching(/not declared/) },
    ]);
    expect(get).not.toHaveBeenCalled();
    expect(api.requests).toHaveLength(0);
    await expect(m.canSend({ from: OTHER_PAGE, to: USER })).rejects.toBeInstanceOf(ValidationError);
  });

  it('refuses to record a message to an undeclared Page, and stores nothing', async () => {
    const store = memStore();
    const m = messenger({ store, pages: [PAGE] });
    await expect(
      m.recordInbound({ from: USER, to: OTHER_PAGE, timestamp: new Date(clock), messageUuid: 'm1' }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(await store.get(conversationKey(OTHER_PAGE, USER))).toBeNull();
    await expect(m.markPageLinked(OTHER_PAGE)).rejects.toBeInstanceOf(ValidationError);
    expect(await store.getPage(OTHER_PAGE)).toBeNull();
  });

  it('allows any Page when pages is not set', async () => {
    const m = messenger();
    await m.recordInbound({ from: USER, to: OTHER_PAGE, timestamp: new Date(clock), messageUuid: 'm1' });
    await m.sendText({ from: OTHER_PAGE, to: USER, text: 'x' });
    expect(api.requests).toHaveLength(1);
  });
});

describe('recordInbound', () => {
  it('moves only forward: an older message never shortens the window', async () => {
    const m = messenger();
    await m.recordInbound({ from: USER, to: PAGE, timestamp: new Date(T0 - HOUR), messageUuid: 'a' });
    const { state, duplicate } = await m.recordInbound({
      from: USER,
      to: PAGE,
      timestamp: new Date(T0 - 5 * HOUR),
      messageUuid: 'b',
    });
    expect(duplicate).toBe(false);
    expect(state.lastInboundAt).toEqual(new Date(T0 - HOUR));
    expect(state.lastInboundUuid).toBe('a');
  });

  it('a repeated messageUuid is a duplicate and changes nothing', async () => {
    const m = messenger();
    await m.recordInbound({ from: USER, to: PAGE, timestamp: new Date(T0 - HOUR), messageUuid: 'a' });
    const again = await m.recordInbound({ from: USER, to: PAGE, timestamp: new Date(T0), messageUuid: 'a' });
    expect(again.duplicate).toBe(true);
    expect(again.state.lastInboundAt).toEqual(new Date(T0 - HOUR));
  });

  it('takes a timestamp in the future as now', async () => {
    const m = messenger();
    const { state } = await m.recordInbound({ from: USER, to: PAGE, timestamp: new Date(T0 + DAY), messageUuid: 'f' });
    expect(state.lastInboundAt).toEqual(new Date(T0));
  });

  it('refuses bad input and stores nothing', async () => {
    const store = memStore();
    const m = messenger({ store });
    for (const input of [
      { from: 'x', to: PAGE, timestamp: new Date(T0), messageUuid: 'a' },
      { from: USER, to: PAGE, timestamp: new Date(Number.NaN), messageUuid: 'a' },
      { from: USER, to: PAGE, timestamp: '2026-05-01', messageUuid: 'a' },
      { from: USER, to: PAGE, timestamp: new Date(T0), messageUuid: '' },
    ]) {
      await expect(m.recordInbound(input as never)).rejects.toBeInstanceOf(ValidationError);
    }
    expect(await store.get(KEY)).toBeNull();
  });
});

describe('canSend', () => {
  it('answers allowed with the expiry, without a request', async () => {
    const m = messenger();
    await userWrote(m, HOUR);
    expect(await m.canSend({ from: PAGE, to: USER })).toEqual({
      allowed: true,
      category: 'response',
      window: 'standard',
      expiresAt: new Date(T0 - HOUR + DAY - 60_000),
    });
    expect(api.requests).toHaveLength(0);
  });

  it('answers refused with the reason and the alternatives instead of throwing', async () => {
    const m = messenger();
    await userWrote(m, 2 * DAY);
    const decision = await m.canSend({ from: PAGE, to: USER });
    expect(decision).toMatchObject({ allowed: false, reason: 'window_closed' });
    if (decision.allowed) throw new Error('unreachable');
    expect(decision.alternatives.map((a) => a.tag)).toEqual(['HUMAN_AGENT']);
    expect(await m.canSend({ from: PAGE, to: USER, tag: 'HUMAN_AGENT' })).toMatchObject({ allowed: true });
    expect(await m.canSend({ from: PAGE, to: psid('1') })).toMatchObject({ allowed: false, reason: 'no_conversation' });
    expect(await m.canSend({ from: PAGE, to: USER, tag: 'NOT_A_TAG' })).toMatchObject({ reason: 'unknown_tag' });
  });

  it('throws ValidationError for bad IDs', async () => {
    const m = messenger();
    await expect(m.canSend({ from: 'abc', to: USER })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('client-side rate limit', () => {
  it('is off by default', async () => {
    const m = messenger();
    await userWrote(m);
    await Promise.all(Array.from({ length: 20 }, () => m.sendText({ from: PAGE, to: USER, text: 'x' })));
    expect(api.requests).toHaveLength(20);
  });

  it('refuses over the limit with ClientRateLimitError, not a VonageApiError, and sends nothing more', async () => {
    const m = messenger({ rateLimit: { perSecond: 1, maxWaitMs: 0 } });
    await userWrote(m);
    await m.sendText({ from: PAGE, to: USER, text: 'x' });
    const error = await rejection(m.sendText({ from: PAGE, to: USER, text: 'x' }));
    expect(error).toBeInstanceOf(ClientRateLimitError);
    expect(isVonageApiError(error)).toBe(false);
    expect(error).toMatchObject({ code: 'CLIENT_RATE_LIMITED', pageId: PAGE, perSecond: 1 });
    expect(api.requests).toHaveLength(1);
  });

  it('judges the window again after waiting for a token: a wait past its end refuses, without a request', async () => {
    let late = false;
    const takeToken = vi.fn(async () => {
      if (takeToken.mock.calls.length > 1) return { allowed: true, retryAfterMs: 0 };
      late = true; // the window ends while the send waits
      return { allowed: false, retryAfterMs: 20 };
    });
    const m = messenger({
      store: { ...memStore(), takeToken },
      rateLimit: { perSecond: 1, maxWaitMs: 1000 },
      now: () => new Date(late ? clock + DAY : clock),
    });
    await userWrote(m);
    const error = await rejection(m.sendText({ from: PAGE, to: USER, text: 'x' }));
    expect(error).toBeInstanceOf(WindowClosedError);
    expect(error).toMatchObject({ reason: 'window_closed' });
    expect(takeToken).toHaveBeenCalledTimes(2);
    expect(api.requests).toHaveLength(0);
  });

  it('judges the window again on the state as it is after the wait: a user who wrote meanwhile gets the reply', async () => {
    const { m } = waitsPastTheWindowWhileTheUserWrites();
    await userWrote(m);
    const result = await m.sendText({ from: PAGE, to: USER, text: 'x' });
    expect(api.requests).toHaveLength(1);
    // The window it went in: the new message's, not the one that closed during the wait.
    expect(result.windowExpiresAt.getTime()).toBeGreaterThan(clock + DAY);
  });

  it('keeps the re-judged decision on the trace of a send Vonage then refused', async () => {
    const { m } = waitsPastTheWindowWhileTheUserWrites();
    await userWrote(m);
    api.replies.push({ status: 500, body: { title: 'Internal Server Error' } });
    const traces: SendTrace[] = [];
    const none = () => {};
    const onError = {
      start: none,
      end: none,
      asyncStart: none,
      asyncEnd: none,
      error: (t: SendTrace) => void traces.push(t),
    };
    tracingChannel<unknown, SendTrace>(MESSENGER_CHANNELS.send).subscribe(onError);
    try {
      await expect(m.sendText({ from: PAGE, to: USER, text: 'x' })).rejects.toMatchObject({ status: 500 });
      const decision = traces[0]?.decision;
      expect(decision?.allowed && decision.expiresAt.getTime()).toBeGreaterThan(clock + DAY);
    } finally {
      tracingChannel<unknown, SendTrace>(MESSENGER_CHANNELS.send).unsubscribe(onError);
    }
  });

  it('judges the window again before retrying a 429: a window that closed meanwhile refuses the retry', async () => {
    api.replies.push({ status: 429, body: { title: 'Rate Limit Hit' } });
    const m = messenger({ now: () => new Date(api.requests.length > 0 ? clock + DAY : clock) });
    await userWrote(m);
    const error = await rejection(m.sendText({ from: PAGE, to: USER, text: 'x' }));
    expect(error).toBeInstanceOf(WindowClosedError);
    expect(api.requests).toHaveLength(1);
    // A tagged reply is still allowed then, and goes out after its 429.
    api.replies.push({ status: 429, body: { title: 'Rate Limit Hit' } });
    await m.sendText({ from: PAGE, to: USER, text: 'x', tag: 'HUMAN_AGENT' });
    expect(api.requests).toHaveLength(3);
  });

  it("uses the store's takeToken when rateLimit is on", async () => {
    const takeToken = vi.fn(async () => ({ allowed: true, retryAfterMs: 0 }));
    const m = messenger({ store: { ...memStore(), takeToken }, rateLimit: true });
    await userWrote(m);
    await m.sendVideo({ from: PAGE, to: USER, url: 'https://example.com/a.mp4' });
    expect(takeToken).toHaveBeenCalledWith(`media:${PAGE}`, 10, 10, expect.any(Number));
  });
});

describe('onPlatformError and close', () => {
  it('onPlatformError returns an unsubscribe function and refuses a non-function', () => {
    const m = messenger();
    const off = m.onPlatformError(() => {});
    expect(typeof off).toBe('function');
    off();
    expect(() => m.onPlatformError('x' as never)).toThrow(ValidationError);
  });

  it('close() leaves a store the caller passed open', async () => {
    const store = memStore();
    const close = vi.spyOn(store, 'close');
    const m = createMessenger({ applicationId, privateKey, apiHost: api.url, store });
    await m.close();
    expect(close).not.toHaveBeenCalled();
  });

  it('close() closes the store it created', async () => {
    const m = createMessenger({ applicationId, privateKey, apiHost: api.url, now: () => new Date(clock) });
    await userWrote(m);
    await m.close();
    expect(await m.canSend({ from: PAGE, to: USER })).toMatchObject({ reason: 'no_conversation' });
  });
});

describe('errors carry no secrets', () => {
  it('no error from a failed send contains the key, the secret or the token', async () => {
    const m = messenger();
    const basic = messenger({
      applicationId: undefined,
      privateKey: undefined,
      apiKey: 'abcd1234',
      apiSecret: 'SECRET-VALUE-3',
    });
    await userWrote(m);
    await userWrote(basic);
    api.replies.push({ status: 401, body: PROBLEMS[401] }, { status: 401, body: PROBLEMS[401] });
    const errors = [
      await rejection(m.sendText({ from: PAGE, to: USER, text: 'x' })),
      await rejection(basic.sendText({ from: PAGE, to: USER, text: 'x' })),
      await rejection(m.sendText({ from: PAGE, to: psid('1'), text: 'x' })),
    ];
    const token = (api.requests[0]?.headers.authorization ?? '').slice(7);
    const keyBody = privateKey.split('\n')[1] ?? '';
    for (const error of errors) {
      expect(error).toBeInstanceOf(MessengerError);
      const text = `${(error as Error).message} ${JSON.stringify(error)} ${inspect(error, { depth: 10 })}`;
      expect(text).not.toContain(keyBody);
      expect(text).not.toContain('SECRET-VALUE-3');
      expect(text).not.toContain(token);
    }
  });
});
