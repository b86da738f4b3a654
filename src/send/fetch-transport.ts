/**
 * The `fetch` transport: `POST {apiHost}/v1/messages` with the global `fetch`, through the
 * shared send loop, so that retries, errors and the body are those of the `node:http`
 * transport. It is the default where `node:http` does not exist (the `workerd`, `worker`,
 * `browser` and `edge-light` builds: Cloudflare Workers, Vercel Edge) and the
 * `transport: 'fetch'` option elsewhere. The runtime pools connections itself.
 *
 * @module
 */
import {
  type Answer,
  type Exchange,
  jsonPostHeaders,
  jsonTransport,
  RequestTimeout,
  type Transport,
  type TransportOptions,
} from './transport.js';

/**
 * The HTTP client for `POST /v1/messages` on the global `fetch`.
 */
export function createFetchTransport(options: TransportOptions): Transport {
  return jsonTransport(options, (url, timeoutMs) => {
    const exchange: Exchange<string> = async (body, authorization) => {
      const controller = new AbortController();
      const timer = setTimeout(
        () => controller.abort(new RequestTimeout(`no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: jsonPostHeaders(authorization, 'vonage-messenger fetch'),
          body,
          signal: controller.signal,
          // A redirect is an answer, as on the node:http transport: following one would re-POST
          // the message (PSID, text) to another origin, or turn it into a GET.
          redirect: 'manual',
        });
        // The body is read under the same timeout: a server that stalls mid-answer is no answer.
        const text = await response.text();
        return {
          status: response.status,
          retryAfter: response.headers.get('retry-after'),
          rateLimitReset: response.headers.get('x-ratelimit-reset'),
          text,
        } satisfies Answer;
      } catch (error) {
        // An abort rejects with the reason given above on most runtimes, with an AbortError on others.
        throw controller.signal.aborted && !(error instanceof RequestTimeout) ? controller.signal.reason : error;
      } finally {
        clearTimeout(timer);
      }
    };
    // Nothing to release on close: fetch owns its connections.
    return { exchange, close: () => {} };
  });
}
