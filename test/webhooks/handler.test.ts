import { describe, expect, it, vi } from 'vitest';
import { StoreError, WebhookVerificationError } from '../../src/errors.js';
import { conversationKey, pageId, psid } from '../../src/ids.js';
import type { SignWebhookOptions } from '../../src/testing/sign.js';
import { declaresOver, MethodNotAllowedError, UnsupportedEncodingError } from '../../src/webhooks/handler.js';
import { createWebhookLayer, type WebhookCallbacks } from '../../src/webhooks/index.js';
import { clock, inboundV1, PAGE, PSID, rejected, setup, sign, statusV1, UUID } from './helpers.js';

const key = conversationKey(pageId(PAGE), psid(PSID));

function post(body: string | object, options?: SignWebhookOptions): Request {
  const signed = sign(body, options);
  return new Request('http://localhost/webhooks', { method: 'POST', headers: signed.headers, body: signed.body });
}

async function compressed(text: string, format: CompressionFormat): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function streamOf(chunks: number, size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= chunks) return controller.close();
      sent += 1;
      controller.enqueue(new Uint8Array(size).fill(0x20));
    },
  });
}

describe('webhookHandler', () => {
  it('answers 200 and calls onMessage with the event after the window is recorded', async () => {
    const { layer, store } = setup();
    const seen: unknown[] = [];
    const handler = layer.webhookHandler({
      onMessage: async (event, context) => {
        // Replying here is safe: the window is already in the store.
        seen.push([event.type, (await store.get(key))?.lastInboundUuid, context.redelivered, context.claims.iss]);
      },
    });
    const response = await handler(post(inboundV1()));
    expect(response.status).toBe(200);
    expect(seen).toEqual([['text', 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab', false, 'Vonage']]);
  });

  it('answers 200 to a duplicate without calling back again', async () => {
    const { layer } = setup();
    const onMessage = vi.fn();
    const handler = layer.webhookHandler({ onMessage });
    expect((await handler(post(inboundV1()))).status).toBe(200);
    expect((await handler(post(inboundV1()))).status).toBe(200);
    expect((await handler(post(inboundV1()))).status).toBe(200);
    expect(onMessage).toHaveBeenCalledTimes(1);
  });

  it('answers 503 when onMessage throws, and the retry reaches the callback once more', async () => {
    const { layer, store } = setup();
    let calls = 0;
    const redelivered: boolean[] = [];
    const onError = vi.fn();
    const handler = layer.webhookHandler({
      onMessage: (_event, context) => {
        calls += 1;
        redelivered.push(context.redelivered);
        if (calls <= 2) throw new Error('database down');
      },
      onError,
    });
    expect((await handler(post(inboundV1()))).status).toBe(503);
    expect(await store.get(key)).not.toBeNull(); // the window is recorded either way
    expect((await handler(post(inboundV1()))).status).toBe(503);
    expect((await handler(post(inboundV1()))).status).toBe(200);
    expect((await handler(post(inboundV1()))).status).toBe(200); // delivered: now a plain duplicate
    expect((await handler(post(inboundV1()))).status).toBe(200);
    expect(calls).toBe(3);
    expect(redelivered).toEqual([false, true, true]);
    expect(onError).toHaveBeenCalledTimes(2);
    expect(onError.mock.calls[0]?.[0]).toMatchObject({ message: 'database down' });
    expect(onError.mock.calls[0]?.[2]).toBe(503);
  });

  it('redelivers a status whose onStatus failed', async () => {
    const { layer } = setup();
    const onStatus = vi.fn().mockRejectedValueOnce(new Error('x')).mockResolvedValue(undefined);
    const handler = layer.webhookHandler({ onStatus });
    expect((await handler(post(statusV1()))).status).toBe(503);
    expect((await handler(post(statusV1()))).status).toBe(200);
    expect((await handler(post(statusV1()))).status).toBe(200);
    expect(onStatus).toHaveBeenCalledTimes(2);
  });

  it('calls onPlatformError before onStatus for a refused message', async () => {
    const { layer } = setup();
    const order: string[] = [];
    const handler = layer.webhookHandler({
      onPlatformError: (e) => void order.push(`platform:${e.code}:${e.kind}`),
      onStatus: (e) => void order.push(`status:${e.status}`),
    });
    await handler(post(rejected('1021')));
    expect(order).toEqual(['platform:1021:invalid_tag', 'status:rejected']);
  });

  it('calls onDispatch for a Dispatch completion event', async () => {
    const { layer } = setup();
    const onDispatch = vi.fn();
    const response = await layer.webhookHandler({ onDispatch })(post({ dispatch_uuid: 'd', status: 'completed' }));
    expect(response.status).toBe(200);
    expect(onDispatch).toHaveBeenCalledWith(expect.objectContaining({ kind: 'dispatch' }), expect.anything());
  });

  it('answers 503 to an unsigned request so that Vonage retries it signed', async () => {
    const { layer, writes } = setup();
    const onError = vi.fn();
    const request = new Request('http://localhost/', { method: 'POST', body: JSON.stringify(inboundV1()) });
    const response = await layer.webhookHandler({ onError })(request);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ status: 503, error: 'unsigned_webhook' });
    expect(onError.mock.calls[0]?.[0]).toMatchObject({ reason: 'missing_token' });
    expect(writes).toEqual([]);
  });

  it('answers 401 to a forged token without saying why', async () => {
    const { layer } = setup();
    const response = await layer.webhookHandler()(post(inboundV1(), {}).clone());
    expect(response.status).toBe(200);
    const forged = sign(inboundV1({ message_uuid: 'f' }), {}, 'not-the-secret');
    const refused = await layer.webhookHandler()(
      new Request('http://localhost/', { method: 'POST', headers: forged.headers, body: forged.body }),
    );
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ status: 401, error: 'webhook_verification_failed' });
  });

  it('answers 400 to a signed body that is not a Messenger event', async () => {
    const { layer } = setup();
    expect((await layer.webhookHandler()(post('not json'))).status).toBe(400);
    expect((await layer.webhookHandler()(post({ hello: 'world' }))).status).toBe(400);
  });

  it('answers 403 to an undeclared Page', async () => {
    const { layer } = setup({ pages: new Set(['1']) });
    expect((await layer.webhookHandler()(post(inboundV1()))).status).toBe(403);
  });

  it('answers 405 to anything but POST, and tells onError', async () => {
    const { layer } = setup();
    const onError = vi.fn();
    const response = await layer.webhookHandler({ onError })(new Request('http://localhost/'));
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(onError.mock.calls[0]?.[0]).toBeInstanceOf(MethodNotAllowedError);
    expect(onError.mock.calls[0]?.[0]).toMatchObject({ name: 'MethodNotAllowedError', message: /not GET/ });
    expect(onError.mock.calls[0]?.[2]).toBe(405);
  });

  it('decodes a gzip or deflate body before checking its hash, as body parsers do', async () => {
    for (const format of ['gzip', 'deflate'] as const) {
      const { layer } = setup();
      const onMessage = vi.fn();
      const signed = sign(inboundV1());
      const encoded = await compressed(signed.body, format);
      const response = await layer.webhookHandler({ onMessage })(
        new Request('http://localhost/', {
          method: 'POST',
          headers: { ...signed.headers, 'content-encoding': format },
          body: encoded,
        }),
      );
      expect(response.status).toBe(200);
      expect(onMessage).toHaveBeenCalledTimes(1);
    }
  });

  it('answers 415 to an encoding it does not decode, and 400 to a body that is not validly encoded', async () => {
    const { layer, writes } = setup();
    const onError = vi.fn();
    const signed = sign(inboundV1());
    const as = (encoding: string, body: BodyInit) =>
      layer.webhookHandler({ onError })(
        new Request('http://localhost/', {
          method: 'POST',
          headers: { ...signed.headers, 'content-encoding': encoding },
          body,
        }),
      );
    const unsupported = await as('br', signed.body);
    expect(unsupported.status).toBe(415);
    expect(await unsupported.json()).toEqual({ status: 415, error: 'unsupported_content_encoding' });
    expect(onError.mock.calls[0]?.[0]).toBeInstanceOf(UnsupportedEncodingError);
    expect(onError.mock.calls[0]?.[2]).toBe(415);
    expect((await as('gzip', signed.body)).status).toBe(400);
    expect(onError.mock.calls[1]?.[0].message).toMatch(/not validly encoded/);
    expect(writes).toEqual([]);
  });

  it('inflates a compressed body only after its token passed: forged 401, unsigned 503, before any decoding', async () => {
    const { layer, writes } = setup();
    const onError = vi.fn();
    const handler = layer.webhookHandler({ onError });
    const signed = sign(inboundV1());
    // Not gzip at all: decoding it would answer 400, so these statuses show it was never decoded.
    const notGzip = new TextEncoder().encode('not gzip');
    const forged = sign(inboundV1(), {}, 'another-secret');
    const as = (headers: Record<string, string>) =>
      handler(
        new Request('http://localhost/', {
          method: 'POST',
          headers: { ...headers, 'content-encoding': 'gzip' },
          body: notGzip,
        }),
      );
    expect((await as(forged.headers)).status).toBe(401);
    expect((await as({ 'content-type': 'application/json' })).status).toBe(503);
    expect((await as(signed.headers)).status).toBe(400); // signed: decoded, and refused as not gzip
    expect(onError.mock.calls.map((call) => call[0].reason ?? call[0].message)).toEqual([
      'bad_signature',
      'missing_token',
      expect.stringMatching(/not validly encoded/),
    ]);
    expect(writes).toEqual([]);
  });

  it('counts the decoded bytes against the limit (a small gzip of a large body is 413)', async () => {
    const { layer, writes } = setup({ maxBodyBytes: 10_000 });
    const body = JSON.stringify({ ...inboundV1(), text: ' '.repeat(1_000_000) });
    const encoded = await compressed(body, 'gzip');
    expect(encoded.byteLength).toBeLessThan(10_000);
    const response = await layer.webhookHandler()(
      new Request('http://localhost/', {
        method: 'POST',
        headers: { ...sign(body).headers, 'content-encoding': 'gzip' },
        body: encoded,
      }),
    );
    expect(response.status).toBe(413);
    expect(writes).toEqual([]);
  });

  it("hands a callback that outran callbackTimeoutMs to the context's waitUntil, settled when it ends", async () => {
    const { layer, store } = setup({ callbackTimeoutMs: 20 });
    let finished = false;
    const kept: Promise<unknown>[] = [];
    const ctx = { waitUntil: (promise: Promise<unknown>) => void kept.push(promise) };
    const handler = layer.webhookHandler({
      onMessage: async () => {
        await new Promise((resolve) => setTimeout(resolve, 80));
        finished = true;
      },
    });
    expect((await handler(post(inboundV1()), ctx)).status).toBe(503);
    expect(kept).toHaveLength(1);
    expect(finished).toBe(false);
    await kept[0];
    expect(finished).toBe(true);
    expect(await store.lease(`{${PAGE}}:inbound:${PSID}:${UUID}`, 60_000, clock.now)).toMatchObject({ state: 'done' });
    // A context without waitUntil (Bun's server, Deno's info) is ignored.
    expect((await handler(post(inboundV1({ message_uuid: 'other' })), { port: 3000 })).status).toBe(503);
  });

  it('answers 413 while streaming a body without Content-Length past the limit', async () => {
    const { layer, writes } = setup({ maxBodyBytes: 1000 });
    const request = new Request('http://localhost/', {
      method: 'POST',
      headers: sign(inboundV1()).headers,
      body: streamOf(1000, 100),
      duplex: 'half',
    } as RequestInit);
    expect(request.headers.get('content-length')).toBeNull();
    expect((await layer.webhookHandler()(request)).status).toBe(413);
    expect(writes).toEqual([]);
  });

  it('answers 413 at once to a declared Content-Length over the limit', async () => {
    const { layer } = setup({ maxBodyBytes: 10 });
    expect((await layer.webhookHandler()(post(inboundV1()))).status).toBe(413);
  });

  it('reads any declared Content-Length over the limit as over it, however many digits', () => {
    expect(declaresOver('10000000000000000', 1_048_576)).toBe(true);
    expect(declaresOver('9'.repeat(40), 1_048_576)).toBe(true);
    expect(declaresOver('1048577', 1_048_576)).toBe(true);
    expect(declaresOver('1048576', 1_048_576)).toBe(false);
    expect(declaresOver('0001048576', 1_048_576)).toBe(false);
    expect(declaresOver('12a', 1_048_576)).toBe(false);
    expect(declaresOver(null, 1_048_576)).toBe(false);
  });

  it('answers 503 when the store fails, and onError gets the StoreError', async () => {
    const { layer, fail } = setup();
    const onError = vi.fn();
    fail('recordInbound');
    expect((await layer.webhookHandler({ onError })(post(inboundV1()))).status).toBe(503);
    expect(onError.mock.calls[0]?.[0]).toBeInstanceOf(StoreError);
  });

  it('answers 500 when the messenger has no signature secret (a deployment error Vonage retries)', async () => {
    const { store } = setup();
    const layer = createWebhookLayer({ store, now: () => clock.now });
    const onError = vi.fn();
    const response = await layer.webhookHandler({ onError })(post(inboundV1()));
    expect(response.status).toBe(500);
    expect(onError.mock.calls[0]?.[0].message).toMatch(/signatureSecret is required/);
  });

  it('answers 200 even when a logging onError throws', async () => {
    const { layer } = setup();
    const callbacks: WebhookCallbacks = {
      onError: () => {
        throw new Error('logger down');
      },
    };
    expect((await layer.webhookHandler(callbacks)(post('nope'))).status).toBe(400);
  });

  it('answers 200 when the delivered mark cannot be written after the callback succeeded', async () => {
    const { layer, fail } = setup();
    const onMessage = vi.fn(() => fail('settle'));
    const onError = vi.fn();
    expect((await layer.webhookHandler({ onMessage, onError })(post(inboundV1()))).status).toBe(200);
    expect(onError.mock.calls[0]?.[2]).toBe(200);
  });

  it('reports verification failures to onError with their reason', async () => {
    const { layer } = setup();
    const onError = vi.fn();
    await layer.webhookHandler({ onError })(post(inboundV1(), { issuer: 'Mallory' }));
    expect(onError.mock.calls[0]?.[0]).toBeInstanceOf(WebhookVerificationError);
    expect(onError.mock.calls[0]?.[0].reason).toBe('wrong_issuer');
    expect(onError.mock.calls[0]?.[2]).toBe(401);
  });
});
