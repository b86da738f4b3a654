import { once } from 'node:events';
import http, { type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import express from 'express';
import { Hono } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { toNodeHandler } from '../../src/webhooks/node.js';
import { inboundV1, setup, sign } from './helpers.js';

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function listen(server: Server): Promise<string> {
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Reply {
  status: number;
  body: string;
}

/** A node:http client request; `chunks` are written one by one (chunked, no Content-Length). */
function send(
  url: string,
  headers: Record<string, string | string[]>,
  chunks: (string | Buffer)[],
  method = 'POST',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false });
    req.on('response', (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    // The server may answer (413) and close before the whole body is written.
    req.on('error', (error) => (req.writableEnded ? undefined : reject(error)));
    (async () => {
      for (const chunk of chunks) {
        if (req.destroyed) return;
        if (!req.write(chunk)) await Promise.race([once(req, 'drain'), once(req, 'close')]);
      }
      req.end();
    })().catch(() => {});
  });
}

describe('toNodeHandler with node:http', () => {
  it('serves a signed webhook, reading the raw body itself', async () => {
    const { layer } = setup();
    const onMessage = vi.fn();
    const url = await listen(http.createServer(toNodeHandler(layer.webhookHandler({ onMessage }))));
    const signed = sign(inboundV1());
    const reply = await send(url, signed.headers, [signed.body.slice(0, 20), signed.body.slice(20)]);
    expect(reply.status).toBe(200);
    expect(onMessage).toHaveBeenCalledTimes(1);
  });

  it('answers 503 to an unsigned webhook', async () => {
    const { layer } = setup();
    const url = await listen(http.createServer(toNodeHandler(layer.webhookHandler())));
    const reply = await send(url, { 'content-type': 'application/json' }, [JSON.stringify(inboundV1())]);
    expect(reply.status).toBe(503);
  });

  it('answers 413 to an oversized chunked body with no Content-Length', async () => {
    const { layer, writes } = setup({ maxBodyBytes: 64 * 1024 });
    const url = await listen(http.createServer(toNodeHandler(layer.webhookHandler())));
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    const reply = await send(
      url,
      sign(inboundV1()).headers,
      Array.from({ length: 64 }, () => chunk),
    );
    expect(reply.status).toBe(413);
    expect(writes).toEqual([]);
  });

  it('sees two Authorization headers that node would silently reduce to one (401)', async () => {
    const { layer, writes } = setup();
    const url = await listen(http.createServer(toNodeHandler(layer.webhookHandler())));
    const signed = sign(inboundV1());
    const other = sign(inboundV1({ text: 'other' }));
    const reply = await send(
      url,
      {
        authorization: [signed.headers.authorization, other.headers.authorization],
        'content-type': 'application/json',
      },
      [signed.body],
    );
    expect(reply.status).toBe(401);
    expect(writes).toEqual([]);
  });

  it('answers 405 to a GET', async () => {
    const { layer } = setup();
    const url = await listen(http.createServer(toNodeHandler(layer.webhookHandler())));
    expect((await send(url, {}, [], 'GET')).status).toBe(405);
  });
});

describe('toNodeHandler with Express 5', () => {
  it('works mounted before any body parser', async () => {
    const { layer } = setup();
    const app = express();
    app.post('/webhooks/inbound', toNodeHandler(layer.webhookHandler()));
    app.use(express.json());
    const url = await listen(http.createServer(app));
    const signed = sign(inboundV1());
    expect((await send(`${url}/webhooks/inbound`, signed.headers, [signed.body])).status).toBe(200);
  });

  it('works after express.raw(), using the Buffer it left in req.body', async () => {
    const { layer } = setup();
    const onMessage = vi.fn();
    const app = express();
    app.post('/webhooks/inbound', express.raw({ type: '*/*' }), toNodeHandler(layer.webhookHandler({ onMessage })));
    const url = await listen(http.createServer(app));
    const signed = sign(inboundV1({ text: 'café ☕' }));
    expect((await send(`${url}/webhooks/inbound`, signed.headers, [signed.body])).status).toBe(200);
    expect(onMessage).toHaveBeenCalledWith(expect.objectContaining({ text: 'café ☕' }), expect.anything());
  });

  it('answers a gzip-encoded body alike on node:http and after express.raw() (which inflates it)', async () => {
    const signed = sign(inboundV1());
    const headers = { ...signed.headers, 'content-encoding': 'gzip' };
    const body = gzipSync(signed.body);
    for (const raw of [false, true]) {
      const { layer } = setup();
      const onMessage = vi.fn();
      const handler = toNodeHandler(layer.webhookHandler({ onMessage }));
      const app = express();
      if (raw) app.post('/webhooks/inbound', express.raw({ type: '*/*' }), handler);
      else app.post('/webhooks/inbound', handler);
      const url = await listen(http.createServer(app));
      expect((await send(`${url}/webhooks/inbound`, headers, [body])).status).toBe(200);
      expect(onMessage).toHaveBeenCalledTimes(1);
    }
  });

  it('answers 413 at once to a Content-Length of 17 digits', async () => {
    const { layer } = setup();
    const url = await listen(http.createServer(toNodeHandler(layer.webhookHandler())));
    const signed = sign(inboundV1());
    const reply = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${url}/`, {
        method: 'POST',
        headers: { ...signed.headers, 'content-length': '10000000000000000' },
        agent: false,
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.write(signed.body); // far less than declared: only an answer before the body ends passes
    });
    expect(reply).toBe(413);
  });

  it('refuses a tampered body after express.raw() (401)', async () => {
    const { layer } = setup();
    const app = express();
    app.post('/webhooks/inbound', express.raw({ type: '*/*' }), toNodeHandler(layer.webhookHandler()));
    const url = await listen(http.createServer(app));
    const signed = sign(inboundV1());
    const tampered = signed.body.replace('Hello', 'Hellp');
    expect((await send(`${url}/webhooks/inbound`, signed.headers, [tampered])).status).toBe(401);
  });

  it('answers 500 with a clear message after express.json() threw the raw bytes away, and tells onError', async () => {
    const { layer } = setup();
    const told: [string, string, number][] = [];
    const app = express();
    app.use(express.json());
    app.post(
      '/webhooks/inbound',
      toNodeHandler(
        layer.webhookHandler({
          onError: (error, request, status) => void told.push([String(error), new URL(request.url).pathname, status]),
        }),
      ),
    );
    const url = await listen(http.createServer(app));
    const signed = sign(inboundV1());
    const reply = await send(`${url}/webhooks/inbound`, signed.headers, [signed.body]);
    expect(reply.status).toBe(500);
    expect(reply.body).toMatch(/before any body parser/);
    expect(told).toEqual([[expect.stringMatching(/raw webhook body is gone/), '/webhooks/inbound', 500]]);
  });
});

describe('the Fetch handler in Hono', () => {
  it('serves a signed webhook through c.req.raw', async () => {
    const { layer } = setup();
    const handler = layer.webhookHandler();
    const app = new Hono();
    app.post('/webhooks/inbound', (c) => handler(c.req.raw));
    const signed = sign(inboundV1());
    const response = await app.request('/webhooks/inbound', {
      method: 'POST',
      headers: signed.headers,
      body: signed.body,
    });
    expect(response.status).toBe(200);
  });
});
