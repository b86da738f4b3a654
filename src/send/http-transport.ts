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

/** The three answer headers the send loop reads; `null` when absent. */
export interface AnswerHeaders {
  keepAlive: string | null;
  retryAfter: string | null;
  rateLimitReset: string | null;
}

/**
 * Finds the answer headers the send loop reads in `IncomingMessage.rawHeaders` (name, value,
 * name, value…, as received), matching names in any case; the first of repeated headers wins.
 * Hand-tuned: `res.headers` builds an object of every header (lower-casing each name) on
 * first read, which a 202 answer otherwise never needs.
 *
 * @example
 * ```ts
 * answerHeaders(['Retry-After', '2', 'Content-Length', '40']).retryAfter // '2'
 * ```
 */
export function answerHeaders(raw: readonly string[]): AnswerHeaders {
  const found: AnswerHeaders = { keepAlive: null, retryAfter: null, rateLimitReset: null };
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    // Lengths first: most headers are none of the three, and comparing a length is free.
    if (name.length === 10) {
      if (found.keepAlive === null && name.toLowerCase() === 'keep-alive') found.keepAlive = raw[i + 1] as string;
    } else if (name.length === 11) {
      if (found.retryAfter === null && name.toLowerCase() === 'retry-after') found.retryAfter = raw[i + 1] as string;
    } else if (name.length === 17) {
      if (found.rateLimitReset === null && name.toLowerCase() === 'x-ratelimit-reset') {
        found.rateLimitReset = raw[i + 1] as string;
      }
    }
  }
  return found;
}

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
              const { keepAlive, retryAfter, rateLimitReset } = answerHeaders(res.rawHeaders);
              watch.keepAlive(keepAlive ?? undefined);
              resolve({
                status: res.statusCode ?? 0,
                retryAfter,
                rateLimitReset,
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
