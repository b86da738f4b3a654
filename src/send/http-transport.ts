/**
 * The default transport on Node, Bun and Deno: `POST {apiHost}/v1/messages` over
 * `node:http`/`node:https` with a keep-alive agent, through the shared send loop
 * (transport.ts explains why `node:http` rather than `fetch`).
 *
 * @module
 */
import http from 'node:http';
import https from 'node:https';
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

/**
 * The HTTP client for `POST /v1/messages`, on `node:http`/`node:https` (the default transport).
 */
export function createTransport(options: TransportOptions): Transport {
  return jsonTransport(options, (url, timeoutMs) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const client = secure ? https : http;
    // Idle sockets are closed after 4 s (or before the server's Keep-Alive hint), which makes a
    // reset on a socket the server already dropped unlikely; sockets never keep the process alive.
    const agent = secure
      ? new https.Agent({ keepAlive: true, timeout: 4_000 })
      : new http.Agent({ keepAlive: true, timeout: 4_000 });
    const hostname = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
    const port = target.port === '' ? undefined : Number(target.port);
    const path = target.pathname;

    const exchange: Exchange<string> = (body, authorization) =>
      new Promise<Answer>((resolve, reject) => {
        const req = client.request(
          {
            hostname,
            port,
            path,
            method: 'POST',
            agent,
            timeout: timeoutMs,
            headers: { ...jsonPostHeaders(authorization, USER_AGENT), 'content-length': Buffer.byteLength(body) },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              text += chunk;
            });
            res.on('end', () => {
              const retryAfter = res.headers['retry-after'];
              const reset = res.headers['x-ratelimit-reset'];
              resolve({
                status: res.statusCode ?? 0,
                retryAfter: retryAfter ?? null,
                rateLimitReset: (Array.isArray(reset) ? reset[0] : reset) ?? null,
                text,
              });
            });
            res.on('error', reject);
          },
        );
        req.on('timeout', () => req.destroy(new RequestTimeout(`no answer within ${timeoutMs} ms`)));
        req.on('error', reject);
        req.end(body);
      });
    return { exchange, close: () => agent.destroy() };
  });
}
