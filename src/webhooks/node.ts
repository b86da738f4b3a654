/**
 * `toNodeHandler(handler)`: serves a Fetch handler from node:http or Express. It reads the raw
 * body itself (the signature covers the exact bytes), and also works after `express.raw()`,
 * which leaves the bytes in `req.body` as a Buffer. A body parser that already turned the
 * body into an object (`express.json()`) has thrown the bytes away: that answers 500 with a
 * message saying where to mount the handler.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { REPORT_ERROR, type ReportingHandler } from './handler.js';

/**
 * A node:http request, possibly with a `body` left by Express middleware (`express.raw()`
 * leaves the bytes there as a Buffer) or a `_body` flag set by older body parsers.
 */
export type NodeRequest = IncomingMessage & { body?: unknown; _body?: unknown };

/** The Node handler: `(req, res, next?)`, usable by `http.createServer` and as Express middleware. */
export type NodeHandler = (req: NodeRequest, res: ServerResponse, next?: (error?: unknown) => void) => Promise<void>;

const RAW_BODY_GONE =
  'The raw webhook body is gone: a body parser (express.json(), express.urlencoded()) read it before toNodeHandler. Mount toNodeHandler before any body parser, or after express.raw({ type: "*/*" }); the signature covers the exact bytes.';

function toHeaders(req: IncomingMessage): Headers {
  const headers = new Headers();
  const raw = req.rawHeaders;
  // rawHeaders keeps repeated headers (node's req.headers silently drops a second Authorization).
  for (let i = 0; i + 1 < raw.length; i += 2) {
    try {
      headers.append(raw[i] as string, raw[i + 1] as string);
    } catch {
      // node accepted it, Fetch would not: skip the one header.
    }
  }
  return headers;
}

function streamOf(req: IncomingMessage): ReadableStream<Uint8Array> {
  let finished = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      req.on('data', (chunk: Buffer | string) => {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        controller.enqueue(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
        if ((controller.desiredSize ?? 1) <= 0) req.pause();
      });
      req.once('end', () => {
        if (finished) return;
        finished = true;
        controller.close();
      });
      req.once('error', (error) => {
        if (finished) return;
        finished = true;
        controller.error(error);
      });
      req.once('close', () => {
        if (finished) return;
        finished = true;
        controller.error(new Error('The request was aborted'));
      });
    },
    pull() {
      req.resume();
    },
    cancel() {
      // Refused (over the limit): stop buffering and let the rest drain into nothing.
      finished = true;
      req.removeAllListeners('data');
      req.resume();
    },
  });
}

/** The request line and headers, as a Fetch Request without a body. */
function headOf(req: IncomingMessage): { url: string; method: string; headers: Headers } {
  const method = req.method ?? 'GET';
  let url: string;
  try {
    url = new URL(req.url ?? '/', 'http://localhost').href;
  } catch {
    url = 'http://localhost/';
  }
  return { url, method, headers: toHeaders(req) };
}

function toRequest(req: NodeRequest): Request | undefined {
  const { url, method, headers } = headOf(req);
  if (method === 'GET' || method === 'HEAD') return new Request(url, { method, headers });
  let body: BodyInit;
  const parsed = req.body;
  if (parsed instanceof Uint8Array || typeof parsed === 'string') {
    body = parsed as Uint8Array<ArrayBuffer> | string;
    // A body parser decoded the body already (body-parser inflates gzip and deflate).
    headers.delete('content-encoding');
  } else if (req.readableEnded || req._body === true) return undefined;
  else body = streamOf(req);
  return new Request(url, { method, headers, body, duplex: 'half' } as RequestInit);
}

async function send(res: ServerResponse, response: Response, closeConnection: boolean): Promise<void> {
  const payload = Buffer.from(await response.arrayBuffer());
  res.statusCode = response.status;
  response.headers.forEach((value, name) => {
    res.setHeader(name, value);
  });
  if (closeConnection) res.setHeader('connection', 'close');
  res.setHeader('content-length', payload.byteLength);
  res.end(payload);
}

/**
 * Adapts a Fetch handler (such as `messenger.webhookHandler()`) to node:http and Express.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { toNodeHandler } from 'vonage-messenger'
 *
 * const app = express()
 * // Before express.json(): the signature covers the raw bytes.
 * app.post('/webhooks/inbound', toNodeHandler(messenger.webhookHandler({ onMessage: (event) => console.log(event.type) })))
 * app.post('/webhooks/status', toNodeHandler(messenger.webhookHandler({ onStatus: (event) => console.log(event.status) })))
 * app.use(express.json())
 * ```
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * createServer(toNodeHandler(messenger.webhookHandler())).listen(3000)
 * ```
 */
export function toNodeHandler(handler: (request: Request) => Promise<Response>): NodeHandler {
  return async (req, res, next) => {
    try {
      const request = toRequest(req);
      if (request === undefined) {
        const { url, method, headers } = headOf(req);
        await (handler as ReportingHandler)[REPORT_ERROR]?.(
          new Error(RAW_BODY_GONE),
          new Request(url, { method, headers }),
          500,
        );
        const response = new Response(JSON.stringify({ status: 500, error: RAW_BODY_GONE }), {
          status: 500,
          headers: { 'content-type': 'application/json' },
        });
        await send(res, response, false);
        return;
      }
      const response = await handler(request);
      // Refused before the whole body arrived (413): don't keep the connection for the rest.
      await send(res, response, response.status === 413 && !req.readableEnded);
    } catch (error) {
      if (next !== undefined) {
        next(error);
        return;
      }
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end();
      }
    }
  };
}
