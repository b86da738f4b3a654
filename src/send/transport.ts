/**
 * The one network edge of sending: `POST {apiHost}/v1/messages` over `node:http`/`node:https`
 * with a keep-alive agent, and the mapping of every answer to a result or a typed error.
 *
 * Why `node:http` and not global `fetch`: on Node 20, measured in-process against a loopback
 * stand-in at concurrency 32, `http.request` with a keep-alive agent completes about 5× more
 * requests per second than `fetch` (undici's web streams cost more CPU than the request
 * itself). Both keep connections alive; the wire bytes are the same.
 *
 * Why not `@vonage/messages` as the transport (docs/sending.md, "Transport"): its client
 * throws `VetchError("Request failed with status code N")` before reading the body, so the
 * RFC 7807 fields reach a caller only through an untyped, unread `Response`; its debug
 * logging prints the auth object (private key) and the `Authorization` header when
 * `DEBUG=vonage:*` is set; and every request pays for a fresh RS256 signature, a camel→snake
 * deep copy and a JSON dump for the debug log. The body we send is the one it would send.
 *
 * Retries: only 429, with bounded jittered exponential backoff honouring `Retry-After`. A
 * POST that failed in any other way may still have been delivered; repeating it could
 * message the user twice, so it is never retried here.
 *
 * @module
 */
import http from 'node:http';
import https from 'node:https';
import { type InvalidParameter, NetworkError, RateLimitError, VonageApiError, type VonageProblem } from '../errors.js';
import type { AuthProvider } from './auth.js';

/** The Messenger message types Vonage sends. */
export type MessengerMessageType = 'text' | 'image' | 'audio' | 'video' | 'file';

/** One outbound Messenger message, already validated and judged by the policy. */
export interface OutboundMessage {
  messageType: MessengerMessageType;
  from: string;
  to: string;
  /** The text (for `text`) or the media URL. */
  content: string;
  category: 'response' | 'update' | 'message_tag';
  tag?: string | undefined;
  clientRef?: string | undefined;
  webhookUrl?: string | undefined;
}

/**
 * Retry policy for 429 answers.
 *
 * @example
 * ```ts
 * createMessenger({ ..., retry: { retries: 4, baseDelayMs: 500, maxDelayMs: 10_000 } })
 * ```
 */
export interface RetryOptions {
  /** Extra attempts after the first 429. Default 2. */
  retries?: number;
  /** First backoff step. Default 250 ms. */
  baseDelayMs?: number;
  /** Longest single wait; a `Retry-After` beyond it is not waited for. Default 5 000 ms. */
  maxDelayMs?: number;
}

/** Options of {@link createTransport}. */
export interface TransportOptions {
  apiHost: string;
  auth: AuthProvider;
  retry?: RetryOptions | false;
  /** Abort a request when its socket is silent this long. Default 30 000 ms. */
  timeoutMs?: number;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Real-time clock for HTTP-date `Retry-After` values. Default `Date.now`. */
  clock?: () => number;
}

/** Sends one message; resolves to Vonage's `message_uuid`. */
export interface Transport {
  send(message: OutboundMessage): Promise<{ messageUuid: string }>;
  /** The endpoint requests go to. */
  readonly url: string;
  /** Closes the kept-alive connections. */
  close(): void;
}

/** One HTTP answer, read to the end. */
interface Answer {
  status: number;
  retryAfter: string | null;
  text: string;
}

/** Raised when a request's socket stays silent for `timeoutMs`. */
class RequestTimeout extends Error {
  override name = 'TimeoutError';
}

const USER_AGENT = `vonage-messenger node/${process.versions.node}`;
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The wire body: flat snake_case JSON, exactly what Vonage documents for `channel: "messenger"`. */
export function toWireBody(message: OutboundMessage): string {
  const body: Record<string, unknown> = {
    channel: 'messenger',
    message_type: message.messageType,
    to: message.to,
    from: message.from,
  };
  if (message.messageType === 'text') body.text = message.content;
  else body[message.messageType] = { url: message.content };
  body.messenger =
    message.tag === undefined ? { category: message.category } : { category: message.category, tag: message.tag };
  if (message.clientRef !== undefined) body.client_ref = message.clientRef;
  if (message.webhookUrl !== undefined) body.webhook_url = message.webhookUrl;
  return JSON.stringify(body);
}

/**
 * Parses a `Retry-After` header: delay-seconds or an HTTP date. Returns ms, or `undefined`
 * when absent or unreadable.
 *
 * @example
 * ```ts
 * parseRetryAfter('2', Date.now()) // 2000
 * ```
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

function toInvalidParameters(value: unknown): InvalidParameter[] {
  // The spec says an array; the Node SDK's type says a single object. Accept both.
  const list = Array.isArray(value) ? value : value && typeof value === 'object' ? [value] : [];
  const out: InvalidParameter[] = [];
  for (const item of list) {
    if (item && typeof item === 'object') {
      const { name, reason } = item as { name?: unknown; reason?: unknown };
      out.push({ name: typeof name === 'string' ? name : String(name ?? ''), reason: String(reason ?? '') });
    }
  }
  return out;
}

const str = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;

/** Reads an error answer into an RFC 7807 problem, tolerating bodies that are not JSON. */
export function toProblem(status: number, text: string): VonageProblem {
  let parsed: unknown;
  try {
    parsed = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    const detail = text.length > 500 ? `${text.slice(0, 500)}…` : text;
    return { status, ...(detail ? { detail } : {}) };
  }
  const body = parsed as Record<string, unknown>;
  const problem: VonageProblem = { status };
  const type = str(body.type);
  const title = str(body.title);
  const detail = str(body.detail);
  const instance = str(body.instance);
  if (type !== undefined) problem.type = type;
  if (title !== undefined) problem.title = title;
  if (detail !== undefined) problem.detail = detail;
  if (instance !== undefined) problem.instance = instance;
  const params = toInvalidParameters(body.invalid_parameters);
  if (params.length > 0) problem.invalidParameters = params;
  return problem;
}

function describe(problem: VonageProblem): string {
  const parts = [`Vonage answered ${problem.status}`];
  if (problem.title) parts.push(problem.title);
  if (problem.detail) parts.push(problem.detail);
  let text = parts.join(': ');
  if (problem.invalidParameters?.length) {
    text += ` (${problem.invalidParameters.map((p) => `${p.name}: ${p.reason}`).join('; ')})`;
  }
  return text;
}

/**
 * The HTTP client for `POST /v1/messages`.
 *
 * @example
 * ```ts
 * const transport = createTransport({ apiHost: 'https://api.nexmo.com', auth })
 * const { messageUuid } = await transport.send({ messageType: 'text', from, to, content: 'hi', category: 'response' })
 * ```
 */
export function createTransport(options: TransportOptions): Transport {
  const url = `${options.apiHost.replace(/\/+$/, '')}/v1/messages`;
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const client = secure ? https : http;
  // Idle sockets are closed after 4 s (or before the server's Keep-Alive hint), which makes a
  // reset on a socket the server already dropped unlikely; sockets never keep the process alive.
  const agent = secure
    ? new https.Agent({ keepAlive: true, timeout: 4_000 })
    : new http.Agent({ keepAlive: true, timeout: 4_000 });
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const clock = options.clock ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const retry = options.retry === false ? { retries: 0, baseDelayMs: 0, maxDelayMs: 0 } : options.retry;
  const retries = Math.max(0, retry?.retries ?? 2);
  const baseDelayMs = retry?.baseDelayMs ?? 250;
  const maxDelayMs = retry?.maxDelayMs ?? 5_000;
  const { auth } = options;
  const hostname = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
  const port = target.port === '' ? undefined : Number(target.port);
  const path = target.pathname;

  /** Equal jitter: half the exponential step fixed, half random, so retries spread out but still back off. */
  const backoff = (attempt: number) => {
    const step = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
    return Math.round(step / 2 + random() * (step / 2));
  };

  const post = (body: string, authorization: string): Promise<Answer> =>
    new Promise<Answer>((resolve, reject) => {
      const req = client.request(
        {
          hostname,
          port,
          path,
          method: 'POST',
          agent,
          timeout: timeoutMs,
          headers: {
            authorization,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            accept: 'application/json',
            'user-agent': USER_AGENT,
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => {
            const retryAfter = res.headers['retry-after'];
            resolve({ status: res.statusCode ?? 0, retryAfter: retryAfter ?? null, text });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new RequestTimeout(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });

  async function attempt(body: string): Promise<Answer> {
    // Outside the try: a signing failure is not a network failure.
    const authorization = auth.header();
    try {
      return await post(body, authorization);
    } catch (error) {
      const reason = error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : String(error);
      throw new NetworkError(
        `The request to ${url} failed before Vonage answered (${reason}). The message may or may not have been sent; it was not retried.`,
        { cause: error },
      );
    }
  }

  return {
    url,
    async send(message) {
      const body = toWireBody(message);
      for (let tries = 0; ; tries++) {
        const { status, retryAfter, text } = await attempt(body);
        if (status >= 200 && status < 300) {
          let data: unknown;
          try {
            data = JSON.parse(text);
          } catch (error) {
            throw new VonageApiError(
              `Vonage answered ${status} with a body that is not JSON`,
              { status, detail: text.length > 500 ? `${text.slice(0, 500)}…` : text },
              { cause: error },
            );
          }
          const uuid = (data as { message_uuid?: unknown } | null)?.message_uuid;
          if (typeof uuid !== 'string') {
            throw new VonageApiError(`Vonage answered ${status} without a message_uuid`, {
              status,
              detail: 'response has no message_uuid',
            });
          }
          return { messageUuid: uuid };
        }

        const problem = toProblem(status, text);
        if (status === 429) {
          const hinted = parseRetryAfter(retryAfter, clock());
          const wait = hinted ?? backoff(tries);
          if (tries < retries && wait <= maxDelayMs) {
            await sleep(wait);
            continue;
          }
          throw new RateLimitError(
            `${describe(problem)}. Gave up after ${tries + 1} attempt${tries === 0 ? '' : 's'}; retry after ${wait} ms.`,
            problem,
            wait,
          );
        }
        // A rejected JWT (expired, revoked) must not be reused by the next send.
        if (status === 401) auth.invalidate();
        throw new VonageApiError(describe(problem), problem);
      }
    },
    close() {
      agent.destroy();
    },
  };
}
