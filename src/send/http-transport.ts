/**
 * The default transport on Node, Bun and Deno: `POST {apiHost}/v1/messages` over
 * `node:http`/`node:https` with a keep-alive agent, through the shared send loop
 * (transport.ts explains why `node:http` rather than `fetch`).
 *
 * @module
 */
import http from 'node:http';
import https from 'node:https';
import { watchSockets } from './socket-watch.js';
import {
  type Answer,
  type Exchange,
  jsonPostHeaders,
  jsonTransport,
  RequestTimeout,
  type Transport,
  type TransportOptions,
} from './transport.js';

const USER_AGENT = `vonage-messenger node/${process.versions.node}`;
/** How long a kept-alive socket may stay idle before it is closed. */
const IDLE_MS = 4_000;

/**
 * The HTTP client for `POST /v1/messages`, on `node:http`/`node:https` (the default transport).
 */
export function createTransport(options: TransportOptions): Transport {
  return jsonTransport(options, (url, timeoutMs) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const client = secure ? https : http;
    // Idle sockets are closed within 4 s (or before the server's Keep-Alive hint), which makes a
    // reset on a socket the server already dropped unlikely; sockets never keep the process
    // alive. Both that and the request timeout are kept by one interval (socket-watch.ts), not
    // by Node's per-request socket timers.
    const agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    const watch = watchSockets({
      agent,
      timeoutMs,
      idleMs: IDLE_MS,
      onTimeout: () => new RequestTimeout(`no answer within ${timeoutMs} ms`),
    });
    const hostname = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
    const port = target.port === '' ? undefined : Number(target.port);
    const path = target.pathname;

    const exchange: Exchange<string> = (body, authorization) =>
      new Promise<Answer>((resolve, reject) => {
        const fail = (error: Error) => {
          watch.settled(req);
          reject(error);
        };
        const req = client.request(
          {
            hostname,
            port,
            path,
            method: 'POST',
            agent,
            headers: { ...jsonPostHeaders(authorization, USER_AGENT), 'content-length': Buffer.byteLength(body) },
          },
          (res) => {
            // Bytes, decoded once at the end (no StringDecoder per answer).
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => {
              chunks.push(chunk);
            });
            res.on('end', () => {
              watch.settled(req);
              const { headers } = res;
              const keepAlive = headers['keep-alive'];
              watch.keepAlive(typeof keepAlive === 'string' ? keepAlive : undefined);
              const reset = headers['x-ratelimit-reset'];
              resolve({
                status: res.statusCode ?? 0,
                retryAfter: headers['retry-after'] ?? null,
                rateLimitReset: (Array.isArray(reset) ? reset[0] : reset) ?? null,
                text:
                  chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'),
              });
            });
            res.on('error', fail);
          },
        );
        req.on('error', fail);
        watch.started(req);
        req.end(body);
      });
    return {
      exchange,
      close() {
        watch.close();
        agent.destroy();
      },
    };
  });
}
