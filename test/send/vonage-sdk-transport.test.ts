/**
 * The `transport: 'vonage-sdk'` option against msw (which intercepts both the SDK's global
 * `fetch` and `node:http`), and the same behavioural table run for both transports, so that
 * they provably send the same bytes and fail alike.
 */
import { randomUUID } from 'node:crypto';
import { format, inspect } from 'node:util';
import createDebug from 'debug';
import { delay, HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  MissingDependencyError,
  NetworkError,
  RateLimitError,
  ValidationError,
  VonageApiError,
  WindowClosedError,
} from '../../src/errors.js';
import { createMessenger, type Messenger, type MessengerOptions } from '../../src/messenger.js';
import { basicAuth, jwtAuth } from '../../src/send/auth.js';
import { type OutboundMessage, toWireBody } from '../../src/send/transport.js';
import { createVonageSdkTransport, sdkAuth } from '../../src/send/vonage-sdk-transport.js';
import { jwtPayload, PROBLEMS, testKeys } from './fake-api.js';

// Counts every signature this package makes with node:crypto, which signs its JWTs (the SDK
// path must add none; the SDK's own @vonage/jwt signer is never called, see sdkAuth).
const signatures = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:crypto')>();
  return {
    ...original,
    sign: (...args: Parameters<typeof original.sign>) => {
      signatures.count++;
      return original.sign(...args);
    },
  };
});

// Loopback with nothing listening: a request msw failed to intercept could reach no one.
const HOST = 'http://127.0.0.1:9';
const PAGE = '102290129340398';
const USER = '25381719828140932';
const KEYS = testKeys();
const APPLICATION_ID = 'aaaaaaaa-0000-4000-8000-000000000001';
const TRANSPORTS = ['http', 'fetch', 'vonage-sdk'] as const;

interface Seen {
  authorization: string | null;
  userAgent: string | null;
  contentType: string | null;
  raw: string;
}
type Reply = () => Response | Promise<Response>;

const seen: Seen[] = [];
const replies: Reply[] = [];
let fallback: Reply | undefined;
let uuids = 0;
const accepted: Reply = () =>
  HttpResponse.json({ message_uuid: `aaaaaaaa-bbbb-cccc-dddd-${String(++uuids).padStart(12, '0')}` }, { status: 202 });
const problem =
  (status: keyof typeof PROBLEMS, headers: Record<string, string> = {}): Reply =>
  () =>
    HttpResponse.json(PROBLEMS[status], {
      status,
      headers: { 'content-type': 'application/problem+json', ...headers },
    });

const OTHER = 'http://127.0.0.1:10';
const stolen: string[] = [];
const server = setupServer(
  http.all(`${OTHER}/steal`, async ({ request }) => {
    stolen.push(`${request.method} ${await request.text()}`);
    return HttpResponse.json({ message_uuid: 'stolen' }, { status: 202 });
  }),
  http.post(`${HOST}/v1/messages`, async ({ request }) => {
    seen.push({
      authorization: request.headers.get('authorization'),
      userAgent: request.headers.get('user-agent'),
      contentType: request.headers.get('content-type'),
      raw: await request.text(),
    });
    return (replies.shift() ?? fallback ?? accepted)();
  }),
);

const messengers: Messenger[] = [];
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(async () => {
  seen.length = 0;
  stolen.length = 0;
  replies.length = 0;
  fallback = undefined;
  for (const m of messengers.splice(0)) await m.close();
});
afterAll(() => server.close());

/** A messenger with an open window for USER, over the given transport. */
async function open(transport: MessengerOptions['transport'], options: Partial<MessengerOptions> = {}) {
  const messenger = createMessenger({
    applicationId: APPLICATION_ID,
    privateKey: KEYS.privateKey,
    apiHost: HOST,
    ...(transport === undefined ? {} : { transport }),
    ...options,
  });
  messengers.push(messenger);
  await messenger.recordInbound({ from: USER, to: PAGE, timestamp: new Date(), messageUuid: randomUUID() });
  return messenger;
}

const text = (messenger: Messenger, extra: Record<string, string> = {}) =>
  messenger.sendText({ from: PAGE, to: USER, text: 'Hello', ...extra });

const base: OutboundMessage = { messageType: 'text', from: PAGE, to: USER, content: 'Hello', category: 'response' };

describe.each(TRANSPORTS)('transport %s', (transport) => {
  it('sends exactly the documented wire body for every message type, with the cached bearer JWT', async () => {
    const messenger = await open(transport);
    await text(messenger);
    await messenger.sendImage({ from: PAGE, to: USER, url: 'https://example.com/a.png' });
    await messenger.sendAudio({ from: PAGE, to: USER, url: 'https://example.com/a.mp3' });
    await messenger.sendVideo({ from: PAGE, to: USER, url: 'https://example.com/a.mp4' });
    await messenger.sendFile({ from: PAGE, to: USER, url: 'https://example.com/a.pdf' });
    await text(messenger, { tag: 'HUMAN_AGENT', clientRef: 'order-42', webhookUrl: 'https://example.com/status' });
    await text(messenger, { category: 'update' });

    expect(seen.map((s) => s.raw)).toEqual([
      toWireBody(base),
      toWireBody({ ...base, messageType: 'image', content: 'https://example.com/a.png' }),
      toWireBody({ ...base, messageType: 'audio', content: 'https://example.com/a.mp3' }),
      toWireBody({ ...base, messageType: 'video', content: 'https://example.com/a.mp4' }),
      toWireBody({ ...base, messageType: 'file', content: 'https://example.com/a.pdf' }),
      toWireBody({
        ...base,
        category: 'message_tag',
        tag: 'HUMAN_AGENT',
        clientRef: 'order-42',
        webhookUrl: 'https://example.com/status',
      }),
      toWireBody({ ...base, category: 'update' }),
    ]);
    expect(JSON.parse(seen[5]?.raw ?? '')).toEqual({
      channel: 'messenger',
      message_type: 'text',
      to: USER,
      from: PAGE,
      text: 'Hello',
      messenger: { category: 'message_tag', tag: 'HUMAN_AGENT' },
      client_ref: 'order-42',
      webhook_url: 'https://example.com/status',
    });
    for (const request of seen) {
      expect(request.contentType).toBe('application/json');
      expect(request.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
      expect(jwtPayload(request.authorization ?? '')).toMatchObject({ application_id: APPLICATION_ID });
    }
  });

  it('signs one JWT for many sends: the one signed at createMessenger', async () => {
    const before = signatures.count;
    const messenger = await open(transport);
    await Promise.all(Array.from({ length: 20 }, () => text(messenger)));
    expect(seen).toHaveLength(20);
    expect(new Set(seen.map((s) => s.authorization)).size).toBe(1);
    expect(signatures.count - before).toBe(1);
  });

  it('sends Basic auth when given apiKey and apiSecret', async () => {
    const messenger = await open(transport, {
      applicationId: undefined,
      privateKey: undefined,
      apiKey: 'abcd1234',
      apiSecret: 'secret-xyz',
    });
    await text(messenger);
    expect(seen[0]?.authorization).toBe(`Basic ${Buffer.from('abcd1234:secret-xyz').toString('base64')}`);
  });

  it('resolves a 202 to its message_uuid and the window it was sent in', async () => {
    replies.push(() => HttpResponse.json({ message_uuid: 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab' }, { status: 202 }));
    const messenger = await open(transport);
    const result = await text(messenger);
    expect(result).toMatchObject({ messageUuid: 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab', category: 'response' });
    expect(result.windowExpiresAt).toBeInstanceOf(Date);
  });

  it.each([422, 401, 500] as const)('maps a %i RFC 7807 answer to VonageApiError with every field', async (status) => {
    replies.push(problem(status));
    const messenger = await open(transport);
    const error = await text(messenger).catch((e: unknown) => e);
    const body = PROBLEMS[status] as (typeof PROBLEMS)[422];
    expect(error).toBeInstanceOf(VonageApiError);
    expect(error).not.toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({
      code: 'VONAGE_API_ERROR',
      status,
      type: body.type,
      title: body.title,
      detail: body.detail,
      instance: body.instance,
      invalidParameters: body.invalid_parameters ?? [],
    });
    expect((error as Error).message).toContain(body.title);
    expect(seen).toHaveLength(1);
  });

  it('signs a fresh JWT for the send after a 401', async () => {
    replies.push(problem(401));
    const messenger = await open(transport);
    await expect(text(messenger)).rejects.toMatchObject({ status: 401 });
    await text(messenger);
    const [first, second] = seen.map((s) => jwtPayload(s.authorization ?? '').jti);
    expect(first).toBeDefined();
    expect(second).not.toBe(first);
  });

  it('retries a 429 after Retry-After, then succeeds', async () => {
    replies.push(problem(429, { 'retry-after': '0' }), accepted);
    const messenger = await open(transport);
    await expect(text(messenger)).resolves.toMatchObject({ messageUuid: expect.any(String) });
    expect(seen).toHaveLength(2);
    expect(seen[1]?.raw).toBe(seen[0]?.raw);
  });

  it('gives up on repeated 429s with RateLimitError after the configured retries', async () => {
    fallback = problem(429, { 'retry-after': '0' });
    const messenger = await open(transport, { retry: { retries: 2 } });
    const error = await text(messenger).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ code: 'RATE_LIMITED', status: 429, title: 'Rate Limit Hit', retryAfterMs: 0 });
    expect(seen).toHaveLength(3);
  });

  it.each([302, 307])('answers a %i as VonageApiError, and does not follow it to another origin', async (status) => {
    replies.push(() => new HttpResponse(null, { status, headers: { location: `${OTHER}/steal` } }));
    const messenger = await open(transport, { retry: false });
    await expect(text(messenger)).rejects.toMatchObject({ name: 'VonageApiError', status });
    expect(stolen).toEqual([]);
    expect(seen).toHaveLength(1);
  });

  it('never retries a 500: Vonage sees exactly one request', async () => {
    fallback = problem(500);
    const messenger = await open(transport, { retry: { retries: 5, baseDelayMs: 1 } });
    await expect(text(messenger)).rejects.toMatchObject({ status: 500 });
    expect(seen).toHaveLength(1);
  });

  it('reports a failed connection as NetworkError with the cause, not retried', async () => {
    replies.push(() => HttpResponse.error());
    const messenger = await open(transport);
    const error = await text(messenger).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toMatchObject({ code: 'NETWORK_ERROR' });
    expect((error as Error).message).toContain(`${HOST}/v1/messages`);
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect(seen).toHaveLength(1);
  });

  it('makes no request for a send the window refuses', async () => {
    const messenger = await open(transport);
    await expect(messenger.sendText({ from: PAGE, to: '1234567890', text: 'Hi' })).rejects.toBeInstanceOf(
      WindowClosedError,
    );
    expect(seen).toHaveLength(0);
  });

  it('puts neither the private key nor the token in an error', async () => {
    replies.push(problem(401), () => HttpResponse.error());
    const messenger = await open(transport);
    const errors = [await text(messenger).catch((e: unknown) => e), await text(messenger).catch((e: unknown) => e)];
    const token = (seen[0]?.authorization ?? '').replace('Bearer ', '');
    const keyLine = KEYS.privateKey.split('\n')[1] ?? '';
    for (const error of errors) {
      for (const shown of [(error as Error).message, JSON.stringify(error), inspect(error, { depth: 8 })]) {
        expect(shown).not.toContain(keyLine);
        expect(shown).not.toContain(token);
      }
    }
  });
});

describe("transport: 'vonage-sdk'", () => {
  it('puts the Vonage SDK on the wire, and the default transport is node:http', async () => {
    await text(await open('vonage-sdk'));
    await text(await open(undefined));
    expect(seen[0]?.userAgent).toMatch(/^@vonage\/server-sdk\/.*vonage-messenger$/);
    expect(seen[1]?.userAgent).toMatch(/^vonage-messenger node\//);
  });

  it('refuses an unknown transport', () => {
    expect(() =>
      createMessenger({
        apiKey: 'abcd1234',
        apiSecret: 'secret-xyz',
        transport: 'ftp' as MessengerOptions['transport'],
      }),
    ).toThrow(ValidationError);
  });

  it('is a NetworkError after timeoutMs without an answer', async () => {
    replies.push(async () => {
      await delay('infinite');
      return accepted();
    });
    const messenger = await open('vonage-sdk', { timeoutMs: 50 });
    const error = await text(messenger).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toMatch(/no answer within 50 ms/);
  });

  it('is a VonageApiError when a 2xx body is not JSON', async () => {
    replies.push(() => new HttpResponse('OK', { status: 202, headers: { 'content-type': 'application/json' } }));
    const messenger = await open('vonage-sdk');
    await expect(text(messenger)).rejects.toMatchObject({ name: 'VonageApiError', status: 202 });
  });

  it('gives the SDK an auth object that holds no credential, only the cached header', async () => {
    const jwt = jwtAuth({ applicationId: APPLICATION_ID, privateKey: KEYS.privateKey });
    const auth = sdkAuth(jwt);
    const header = await auth.createBearerHeader();
    expect(String(header)).toBe(jwt.header());
    expect(String(await auth.createBasicHeader())).toBe(jwt.header());
    const keyLine = KEYS.privateKey.split('\n')[1] ?? '';
    const values = Object.values(auth).map((v) => (typeof v === 'function' ? '' : String(v)));
    for (const shown of [inspect(auth, { depth: 8, showHidden: true }), JSON.stringify(auth), ...values]) {
      expect(shown).not.toContain(keyLine);
      expect(shown).not.toContain(jwt.header());
    }
    expect(auth).not.toHaveProperty('privateKey');
    expect(auth).not.toHaveProperty('apiSecret');
    expect(Object.isFrozen(auth)).toBe(true);
    await expect(auth.getQueryParams()).rejects.toThrow(/header only/);
  });

  it("prints no key, secret or token in the SDK's debug log (vonage:messages, vonage:server-client)", async () => {
    const lines: string[] = [];
    const previous = createDebug.log;
    createDebug.log = (...args: unknown[]) => void lines.push(format(...args));
    // All of vonage:*, vonage:jwt:* included: this package signs with node:crypto, so
    // @vonage/jwt's tokenGenerate (which logs its key) never runs.
    createDebug.enable('vonage:*');
    try {
      const jwtMessenger = await open('vonage-sdk');
      await text(jwtMessenger);
      replies.push(problem(401));
      await text(jwtMessenger).catch(() => {});
      const basicMessenger = await open('vonage-sdk', {
        applicationId: undefined,
        privateKey: undefined,
        apiKey: 'abcd1234',
        apiSecret: 'secret-xyz',
      });
      await text(basicMessenger);
    } finally {
      createDebug.disable();
      createDebug.log = previous;
    }
    const log = lines.join('\n');
    expect(log).toContain('Auth config');
    expect(log).toContain('[redacted]');
    const token = (seen[0]?.authorization ?? '').replace('Bearer ', '');
    expect(token.length).toBeGreaterThan(100);
    for (const secret of [
      KEYS.privateKey.split('\n')[1] ?? '',
      token,
      'secret-xyz',
      Buffer.from('abcd1234:secret-xyz').toString('base64'),
    ]) {
      expect(log).not.toContain(secret);
    }
    expect(String(seen[2]?.authorization)).toBe(`Basic ${Buffer.from('abcd1234:secret-xyz').toString('base64')}`);
  });

  it('loads @vonage/messages once and shares one client across concurrent first sends', async () => {
    const messenger = await open('vonage-sdk');
    const results = await Promise.all(Array.from({ length: 8 }, () => text(messenger)));
    expect(new Set(results.map((r) => r.messageUuid)).size).toBe(8);
    expect(seen).toHaveLength(8);
  });
});

describe('@vonage/messages is an optional peer', () => {
  // What Node throws for `import('@vonage/messages')` when the package is not installed.
  const notInstalled = () =>
    Object.assign(
      new Error(
        "Cannot find package '@vonage/messages' imported from /app/node_modules/vonage-messenger/dist/index.js",
      ),
      {
        code: 'ERR_MODULE_NOT_FOUND',
      },
    );
  const message: OutboundMessage = { messageType: 'text', from: PAGE, to: USER, content: 'hi', category: 'response' };

  it('fails the first send with MissingDependencyError naming what to install, before any request', async () => {
    const importSdk = vi.fn(() => Promise.reject(notInstalled()));
    const transport = createVonageSdkTransport({ apiHost: HOST, auth: basicAuth('k', 's') }, importSdk);
    const error = await transport.send(message).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingDependencyError);
    expect(error).toMatchObject({ code: 'MISSING_DEPENDENCY', packages: ['@vonage/messages', '@vonage/auth'] });
    expect((error as Error).message).toContain('npm install @vonage/messages @vonage/auth');
    expect(seen).toHaveLength(0);
    // Not cached: once installed, the next send loads it.
    await transport.send(message).catch(() => {});
    expect(importSdk).toHaveBeenCalledTimes(2);
  });

  it('passes any other failure to load it through unchanged (a broken installation is not a missing one)', async () => {
    const broken = new SyntaxError('Unexpected token in @vonage/messages/dist/index.js');
    const transport = createVonageSdkTransport({ apiHost: HOST, auth: basicAuth('k', 's') }, () =>
      Promise.reject(broken),
    );
    await expect(transport.send(message)).rejects.toBe(broken);
  });
});

describe('basicAuth through sdkAuth', () => {
  it('hands the SDK the Basic header unchanged', async () => {
    const auth = sdkAuth(basicAuth('abcd1234', 'secret-xyz'));
    expect(String(await auth.createBasicHeader())).toBe(
      `Basic ${Buffer.from('abcd1234:secret-xyz').toString('base64')}`,
    );
    expect(inspect(auth)).toBe('VonageSdkAuth(basic)');
  });
});
