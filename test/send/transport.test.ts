import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NetworkError, RateLimitError, VonageApiError } from '../../src/errors.js';
import { basicAuth } from '../../src/send/auth.js';
import { createFetchTransport } from '../../src/send/fetch-transport.js';
import { createTransport } from '../../src/send/http-transport.js';
import {
  type OutboundMessage,
  parseRateLimitReset,
  parseRetryAfter,
  type TransportOptions,
  toProblem,
  toWireBody,
  wireObject,
} from '../../src/send/transport.js';
import { type FakeApi, PROBLEMS, startFakeApi } from './fake-api.js';

const message: OutboundMessage = {
  messageType: 'text',
  from: '102290129340398',
  to: '25381719828140932',
  content: 'Hello',
  category: 'response',
};

let api: FakeApi;
const transports: { close(): void }[] = [];
const sleeps: number[] = [];

// Every behaviour below holds for both wire clients: they share the send loop.
const FACTORIES = [
  ['node:http', createTransport],
  ['fetch', createFetchTransport],
] as const;
let factory: (typeof FACTORIES)[number][1] = createTransport;

function transport(options: Partial<TransportOptions> = {}) {
  const t = factory({
    apiHost: api.url,
    auth: basicAuth('abcd1234', 'secret-xyz'),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...options,
  });
  transports.push(t);
  return t;
}

beforeAll(async () => {
  api = await startFakeApi();
});
afterEach(() => {
  api.requests.length = 0;
  api.replies.length = 0;
  api.fallback = { status: 202 };
  sleeps.length = 0;
  for (const t of transports.splice(0)) t.close();
});
afterAll(async () => {
  await api.close();
});

describe('wire body', () => {
  it.each([
    ['text', { text: 'Hello' }],
    ['image', { image: { url: 'https://example.com/a.png' } }],
    ['audio', { audio: { url: 'https://example.com/a.mp3' } }],
    ['video', { video: { url: 'https://example.com/a.mp4' } }],
    ['file', { file: { url: 'https://example.com/a.pdf' } }],
  ] as const)('writes a %s message the way Vonage documents it', (type, content) => {
    const body = JSON.parse(
      toWireBody({
        ...message,
        messageType: type,
        content: type === 'text' ? 'Hello' : (Object.values(content)[0] as { url: string }).url,
      }),
    );
    expect(body).toEqual({
      channel: 'messenger',
      message_type: type,
      to: '25381719828140932',
      from: '102290129340398',
      ...content,
      messenger: { category: 'response' },
    });
  });

  it('adds the tag, client_ref and webhook_url when given', () => {
    expect(
      JSON.parse(
        toWireBody({
          ...message,
          category: 'message_tag',
          tag: 'HUMAN_AGENT',
          clientRef: 'order-1',
          webhookUrl: 'https://example.com/status',
        }),
      ),
    ).toEqual({
      channel: 'messenger',
      message_type: 'text',
      to: '25381719828140932',
      from: '102290129340398',
      text: 'Hello',
      messenger: { category: 'message_tag', tag: 'HUMAN_AGENT' },
      client_ref: 'order-1',
      webhook_url: 'https://example.com/status',
    });
  });
});

describe('toWireBody (hand-written JSON)', () => {
  it('is JSON.stringify of the wire object to the byte, for any message', () => {
    const id = fc.oneof(fc.stringMatching(/^[0-9]{1,20}$/), fc.string({ maxLength: 12 }));
    const word = fc.oneof(
      fc.constantFrom('text', 'image', 'response', 'message_tag', 'HUMAN_AGENT'),
      fc.string({ maxLength: 12 }),
    );
    const text = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.constantFrom('"quoted"', 'back\\slash', '\u2028'),
    );
    const message = fc.record(
      {
        messageType: fc.constantFrom('text', 'image', 'audio', 'video', 'file'),
        from: id,
        to: id,
        content: text,
        category: word,
        tag: word,
        clientRef: text,
        webhookUrl: text,
      },
      { requiredKeys: ['messageType', 'from', 'to', 'content', 'category'] },
    );
    fc.assert(
      fc.property(message, (m) => {
        const outbound = m as OutboundMessage;
        expect(toWireBody(outbound)).toBe(JSON.stringify(wireObject(outbound)));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, ignores junk', () => {
    expect(parseRetryAfter('0', 0)).toBe(0);
    expect(parseRetryAfter(' 5 ', 0)).toBe(5000);
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:10 GMT', 4000)).toBe(6000);
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:01 GMT', 4000)).toBe(0);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(null, 0)).toBeUndefined();
    // Date.parse reads these as dates long past: an immediate retry.
    expect(parseRetryAfter('1.5', 0)).toBeUndefined();
    expect(parseRetryAfter('-1', 0)).toBeUndefined();
    expect(parseRetryAfter('2026-05-01', 0)).toBeUndefined();
  });
});

describe.each(FACTORIES)('the %s transport', (_name, create) => {
  beforeEach(() => {
    factory = create;
  });

  describe('a 202', () => {
    it('resolves to the message_uuid after one POST to /v1/messages', async () => {
      api.replies.push({ status: 202, body: { message_uuid: 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab' } });
      await expect(transport().send(message)).resolves.toEqual({ messageUuid: 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab' });
      expect(api.requests).toHaveLength(1);
      const [request] = api.requests;
      expect(request?.method).toBe('POST');
      expect(request?.url).toBe('/v1/messages');
      expect(request?.headers['content-type']).toBe('application/json');
      expect(request?.headers.authorization).toBe(`Basic ${Buffer.from('abcd1234:secret-xyz').toString('base64')}`);
    });

    it('reuses one connection for sequential sends (keep-alive)', async () => {
      const t = transport();
      const before = api.connections;
      for (let i = 0; i < 5; i++) await t.send(message);
      expect(api.connections - before).toBe(1);
    });

    it('is an error when the body is not JSON or has no message_uuid', async () => {
      api.replies.push({ status: 202, text: 'OK' }, { status: 202, body: {} });
      const t = transport();
      await expect(t.send(message)).rejects.toMatchObject({ name: 'VonageApiError', status: 202, detail: 'OK' });
      await expect(t.send(message)).rejects.toMatchObject({ status: 202, detail: 'response has no message_uuid' });
    });

    it('is an error when the message_uuid is empty or blank (no status webhook could match it)', async () => {
      api.replies.push({ status: 202, body: { message_uuid: '' } }, { status: 202, body: { message_uuid: '  x\n' } });
      const t = transport();
      await expect(t.send(message)).rejects.toMatchObject({ status: 202, detail: 'response has no message_uuid' });
      await expect(t.send(message)).rejects.toMatchObject({ status: 202, detail: 'response has no message_uuid' });
    });
  });

  describe('a redirect', () => {
    it.each([301, 302, 307, 308] as const)('is an answer (%i), not followed to another origin', async (status) => {
      const other = createHttpServer((req, res) => {
        taken.push(`${req.method} ${req.url}`);
        res.writeHead(202, { 'content-type': 'application/json' }).end('{"message_uuid":"stolen"}');
      });
      const taken: string[] = [];
      await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
      const { port } = other.address() as { port: number };
      api.replies.push({ status, headers: { location: `http://localhost:${port}/steal` } });
      try {
        await expect(transport({ retry: false }).send(message)).rejects.toMatchObject({
          name: 'VonageApiError',
          status,
        });
        expect(taken).toEqual([]);
        expect(api.requests).toHaveLength(1);
      } finally {
        await new Promise((resolve) => other.close(resolve));
      }
    });
  });

  describe('RFC 7807 answers', () => {
    it.each([400, 401, 402, 403, 404, 422, 500] as const)(
      'maps %i to VonageApiError with every field',
      async (status) => {
        api.replies.push({ status, body: PROBLEMS[status] });
        const error = await transport({ retry: false })
          .send(message)
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(VonageApiError);
        expect(error).not.toBeInstanceOf(RateLimitError);
        const problem = PROBLEMS[status] as {
          type: string;
          title: string;
          detail: string;
          instance: string;
          invalid_parameters?: { name: string; reason: string }[];
        };
        expect(error).toMatchObject({
          code: 'VONAGE_API_ERROR',
          status,
          type: problem.type,
          title: problem.title,
          detail: problem.detail,
          instance: problem.instance,
          invalidParameters: problem.invalid_parameters ?? [],
        });
        expect((error as Error).message).toContain(String(status));
        expect((error as Error).message).toContain(problem.title);
        expect(api.requests).toHaveLength(1);
      },
    );

    it('names the invalid parameters in the message', async () => {
      api.replies.push({ status: 422, body: PROBLEMS[422] });
      await expect(transport().send(message)).rejects.toThrow(
        /messenger\.category: Must be one of response, update or message_tag/,
      );
    });

    it('accepts invalid_parameters as a single object', () => {
      expect(
        toProblem(
          422,
          JSON.stringify({
            title: 'Invalid params',
            invalid_parameters: { name: 'image.url', reason: 'is required.' },
          }),
        ),
      ).toEqual({
        status: 422,
        title: 'Invalid params',
        invalidParameters: [{ name: 'image.url', reason: 'is required.' }],
      });
    });

    it('keeps a body that is not JSON as the detail', async () => {
      api.replies.push({ status: 502, text: '<html>Bad Gateway</html>', headers: { 'content-type': 'text/html' } });
      await expect(transport().send(message)).rejects.toMatchObject({
        name: 'VonageApiError',
        status: 502,
        detail: '<html>Bad Gateway</html>',
      });
    });

    it('never retries a 500: the server sees exactly one request', async () => {
      api.fallback = { status: 500, body: PROBLEMS[500] };
      await expect(transport({ retry: { retries: 5, baseDelayMs: 1 } }).send(message)).rejects.toMatchObject({
        status: 500,
      });
      expect(api.requests).toHaveLength(1);
      expect(sleeps).toEqual([]);
    });

    it('signs a new token after a 401', async () => {
      let invalidated = 0;
      api.replies.push({ status: 401, body: PROBLEMS[401] });
      const auth = { kind: 'jwt' as const, header: () => 'Bearer t', invalidate: () => void invalidated++ };
      await expect(transport({ auth }).send(message)).rejects.toMatchObject({ status: 401 });
      expect(invalidated).toBe(1);
    });
  });

  describe('429', () => {
    it('retries after Retry-After seconds, then succeeds', async () => {
      api.replies.push(
        { status: 429, body: PROBLEMS[429], headers: { 'retry-after': '2' } },
        { status: 202, body: { message_uuid: 'u-1' } },
      );
      await expect(transport().send(message)).resolves.toEqual({ messageUuid: 'u-1' });
      expect(api.requests).toHaveLength(2);
      expect(sleeps).toEqual([2000]);
      expect(api.requests[1]?.raw).toBe(api.requests[0]?.raw);
    });

    it('asks beforeRetry after the wait, and stops with its error', async () => {
      api.replies.push({ status: 429, body: PROBLEMS[429], headers: { 'retry-after': '1' } });
      const closed = new Error('the window closed during the wait');
      const beforeRetry = () => {
        throw closed;
      };
      await expect(transport().send({ ...message, beforeRetry })).rejects.toBe(closed);
      expect(sleeps).toEqual([1000]);
      expect(api.requests).toHaveLength(1);
    });

    it('honours an HTTP-date Retry-After', async () => {
      const now = Date.parse('2026-05-01T10:00:00Z');
      api.replies.push(
        { status: 429, body: PROBLEMS[429], headers: { 'retry-after': 'Fri, 01 May 2026 10:00:03 GMT' } },
        { status: 202, body: { message_uuid: 'u-2' } },
      );
      await expect(transport({ clock: () => now }).send(message)).resolves.toEqual({ messageUuid: 'u-2' });
      expect(sleeps).toEqual([3000]);
    });

    it('waits until X-RateLimit-Reset when Retry-After is absent (milliseconds, as in the spec example)', async () => {
      const now = Date.parse('2026-05-01T10:00:00Z');
      api.replies.push(
        { status: 429, body: PROBLEMS[429], headers: { 'x-ratelimit-reset': String(now + 1500) } },
        { status: 202, body: { message_uuid: 'u-3' } },
      );
      await expect(transport({ clock: () => now }).send(message)).resolves.toEqual({ messageUuid: 'u-3' });
      expect(sleeps).toEqual([1500]);
    });

    it('reads a small X-RateLimit-Reset as epoch seconds, and lets Retry-After win when both are set', async () => {
      const now = Date.parse('2026-05-01T10:00:00Z');
      api.replies.push(
        { status: 429, body: PROBLEMS[429], headers: { 'x-ratelimit-reset': String(now / 1000 + 2) } },
        { status: 429, body: PROBLEMS[429], headers: { 'x-ratelimit-reset': String(now + 9000), 'retry-after': '1' } },
        { status: 202, body: { message_uuid: 'u-4' } },
      );
      await transport({ clock: () => now, retry: { retries: 2 } }).send(message);
      expect(sleeps).toEqual([2000, 1000]);
    });

    it('backs off exponentially with jitter when there is no Retry-After', async () => {
      api.replies.push({ status: 429, body: PROBLEMS[429] }, { status: 429, body: PROBLEMS[429] });
      const t = transport({ retry: { retries: 2, baseDelayMs: 100, maxDelayMs: 10_000 }, random: () => 1 });
      await t.send(message);
      expect(sleeps).toEqual([100, 200]);
    });

    it('keeps each wait between half and all of the exponential step', async () => {
      api.replies.push({ status: 429 }, { status: 429 });
      await transport({ retry: { retries: 2, baseDelayMs: 100 }, random: () => 0 }).send(message);
      expect(sleeps).toEqual([50, 100]);
    });

    it('gives up after the configured retries with RateLimitError', async () => {
      api.fallback = { status: 429, body: PROBLEMS[429], headers: { 'retry-after': '1' } };
      const error = await transport({ retry: { retries: 2 } })
        .send(message)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RateLimitError);
      expect(error).toMatchObject({
        code: 'RATE_LIMITED',
        status: 429,
        title: 'Rate Limit Hit',
        retryAfterMs: 1000,
      });
      expect(api.requests).toHaveLength(3);
      expect(sleeps).toEqual([1000, 1000]);
    });

    it('does not wait for a Retry-After longer than maxDelayMs', async () => {
      api.fallback = { status: 429, body: PROBLEMS[429], headers: { 'retry-after': '60' } };
      await expect(transport({ retry: { maxDelayMs: 5_000 } }).send(message)).rejects.toMatchObject({
        retryAfterMs: 60_000,
      });
      expect(api.requests).toHaveLength(1);
      expect(sleeps).toEqual([]);
    });

    it('does not retry when retry is false', async () => {
      api.fallback = { status: 429, body: PROBLEMS[429] };
      await expect(transport({ retry: false }).send(message)).rejects.toBeInstanceOf(RateLimitError);
      expect(api.requests).toHaveLength(1);
    });
  });

  describe('network failures', () => {
    it('a refused connection is a NetworkError with the cause', async () => {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as { port: number };
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const error = await transport({ apiHost: `http://127.0.0.1:${port}` })
        .send(message)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NetworkError);
      expect(error).toMatchObject({ code: 'NETWORK_ERROR' });
      expect((error as Error).message).toMatch(/ECONNREFUSED/);
      expect((error as Error).cause).toBeInstanceOf(Error);
    });

    it('a connection dropped mid-request is a NetworkError and is not retried', async () => {
      api.replies.push({ status: 0, hangUp: true });
      await expect(transport().send(message)).rejects.toBeInstanceOf(NetworkError);
      expect(api.requests).toHaveLength(1);
    });

    it('a silent server is a NetworkError after timeoutMs', async () => {
      const server = createServer(() => {});
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as { port: number };
      try {
        await expect(transport({ apiHost: `http://127.0.0.1:${port}`, timeoutMs: 50 }).send(message)).rejects.toThrow(
          /no answer within 50 ms/,
        );
      } finally {
        server.close();
      }
    });

    it('the credentials appear in no error', async () => {
      api.replies.push({ status: 401, body: PROBLEMS[401] });
      const error = await transport()
        .send(message)
        .catch((e: unknown) => e);
      const encoded = Buffer.from('abcd1234:secret-xyz').toString('base64');
      for (const text of [(error as Error).message, JSON.stringify(error), inspect(error, { depth: 5 })]) {
        expect(text).not.toContain('secret-xyz');
        expect(text).not.toContain(encoded);
      }
    });
  });
});

describe('the node:http transport, between sends', () => {
  it("closes an idle kept-alive connection before the server's Keep-Alive timeout", async () => {
    const server = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end('{"message_uuid":"m-1"}');
      });
    });
    server.keepAliveTimeout = 2_000; // answers carry `Keep-Alive: timeout=2`
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const closed = new Promise<number>((resolve) => {
      server.on('connection', (socket) => socket.on('end', () => resolve(performance.now())));
    });
    const t = createTransport({ apiHost: `http://127.0.0.1:${port}`, auth: basicAuth('abcd1234', 'secret-xyz') });
    try {
      await t.send(message);
      const idleFrom = performance.now();
      // The client ends it (the server would only after 2 s), within a second less the margin.
      expect((await closed) - idleFrom).toBeLessThan(1_500);
    } finally {
      t.close();
      server.close();
    }
  });

  it('keeps nothing alive that would hold the process open', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const t = createTransport({ apiHost: api.url, auth: basicAuth('abcd1234', 'secret-xyz') });
    try {
      await t.send(message);
      expect(timers()).toBe(before);
    } finally {
      t.close();
    }
  });
});

describe('parseRateLimitReset', () => {
  it('ignores what is not a timestamp and never waits a negative time', () => {
    expect(parseRateLimitReset(null, 0)).toBeUndefined();
    expect(parseRateLimitReset('soon', 0)).toBeUndefined();
    expect(parseRateLimitReset('-5', 0)).toBeUndefined();
    expect(parseRateLimitReset('1769182705723', 1769182705723 + 10)).toBe(0);
  });
});
