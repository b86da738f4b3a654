/**
 * The send loop every transport shares: `POST {apiHost}/v1/messages`, and the mapping of
 * every answer to a result or a typed error. The exchanges that put a request on the wire
 * live beside it: `node:http` (http-transport.ts, the default on Node, Bun and Deno),
 * `fetch` (fetch-transport.ts, the default where `node:http` is absent, as in Workers) and
 * `@vonage/messages` (vonage-sdk-transport.ts). This module imports nothing from Node.
 *
 * Why `node:http` is the default and not global `fetch`: on Node 20, measured in-process against a loopback
 * stand-in at concurrency 32, `http.request` with a keep-alive agent completes about 5× more
 * requests per second than `fetch` (undici's web streams cost more CPU than the request
 * itself). Both keep connections alive; the wire bytes are the same.
 *
 * Why `@vonage/messages` is the option and not the default (docs/sending.md, "Transport"):
 * its client throws `VetchError("Request failed with status code N")` before reading the
 * body, so the RFC 7807 fields reach a caller only through an untyped, unread `Response`;
 * its debug logging prints the auth object (private key) and the `Authorization` header when
 * `DEBUG=vonage:*` is set; and every request pays for a fresh RS256 signature, a camel→snake
 * deep copy and a JSON dump for the debug log. `createVonageSdkTransport`
 * (vonage-sdk-transport.ts) puts it on the wire without those costs, through the same
 * {@link createSendLoop}.
 *
 * The send loop is shared by both transports, so that they retry and fail alike: an
 * `Exchange` puts one request on the wire and resolves to Vonage's answer; the loop maps
 * every answer to a result or a typed error. Retries: only 429, with bounded jittered
 * exponential backoff honouring `Retry-After`. A POST that failed in any other way may still
 * have been delivered; repeating it could message the user twice, so it is never retried.
 *
 * @module
 */
import { type InvalidParameter, NetworkError, RateLimitError, VonageApiError, type VonageProblem } from '../errors.js';
import type { MessagingCategory } from '../vocabulary.js';
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
  category: MessagingCategory;
  tag?: string | undefined;
  clientRef?: string | undefined;
  webhookUrl?: string | undefined;
  /**
   * Called after a 429's wait, before the request goes again; throwing (or rejecting) stops
   * the send with that error (the messaging window closed during the wait).
   */
  beforeRetry?: (() => Promise<void> | undefined) | undefined;
}

/** Retry policy for 429 answers. */
export interface RetryOptions {
  /** Extra attempts after the first 429. Default 2. */
  retries?: number | undefined;
  /** First backoff step. Default 250 ms. */
  baseDelayMs?: number | undefined;
  /** Longest single wait; a `Retry-After` beyond it is not waited for. Default 5 000 ms. */
  maxDelayMs?: number | undefined;
}

/** Options of every transport (`createTransport`, `createFetchTransport`, `createVonageSdkTransport`). */
export interface TransportOptions {
  apiHost: string;
  auth: AuthProvider;
  retry?: RetryOptions | false;
  /** Abort a request that has no complete answer this long after it was sent. Default 30 000 ms. */
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

/** One HTTP answer from Vonage, read to the end. */
export interface Answer {
  status: number;
  /** The `Retry-After` header, if any. */
  retryAfter: string | null;
  /** The `X-RateLimit-Reset` header, if any (used on 429 when `Retry-After` is absent). */
  rateLimitReset?: string | null;
  /** The body as text (`''` when a client already consumed it). */
  text: string;
  /** The body, when the client that made the request already decoded it. */
  data?: unknown;
}

/**
 * Puts one request on the wire and resolves to Vonage's answer, whatever its status. Rejects
 * only when there is no answer (socket error, timeout): the loop reports that as a
 * `NetworkError`.
 */
export type Exchange<Body> = (body: Body, authorization: string) => Promise<Answer>;

/** Options of {@link createSendLoop}. */
export interface SendLoopOptions<Body> extends Omit<TransportOptions, 'apiHost' | 'timeoutMs'> {
  /** The endpoint, for error messages. */
  url: string;
  /** Builds the request body once per send; retries resend the same one. */
  encode(message: OutboundMessage): Body;
  exchange: Exchange<Body>;
}

/** Raised by an exchange when a request gets no answer within `timeoutMs`. */
export class RequestTimeout extends Error {
  override name = 'TimeoutError';
}

/** `{apiHost}/v1/messages`, whatever trailing slashes `apiHost` has. */
export const messagesUrl = (apiHost: string): string => `${apiHost.replace(/\/+$/, '')}/v1/messages`;
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The headers of every `POST /v1/messages` of the JSON transports (each adds what its client needs). */
export const jsonPostHeaders = (authorization: string, userAgent: string) => ({
  authorization,
  'content-type': 'application/json',
  accept: 'application/json',
  'user-agent': userAgent,
});

/**
 * A transport that POSTs the wire JSON body through `connect`'s exchange: the endpoint, the
 * timeout default and the send loop (retries, errors) are those of every JSON transport.
 */
export function jsonTransport(
  options: TransportOptions,
  connect: (url: string, timeoutMs: number) => { exchange: Exchange<string>; close(): void },
): Transport {
  const url = messagesUrl(options.apiHost);
  const { exchange, close } = connect(url, options.timeoutMs ?? 30_000);
  return { url, send: createSendLoop({ ...options, url, encode: toWireBody, exchange }), close };
}

/** The wire body as an object: flat snake_case, exactly what Vonage documents for `channel: "messenger"`. */
export function wireObject(message: OutboundMessage): Record<string, unknown> {
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
  return body;
}

// Strings that JSON writes as they are, between quotes: no escape can be needed.
const PLAIN_DIGITS = /^[0-9]+$/;
const PLAIN_WORD = /^[A-Za-z_]+$/;

/**
 * The wire body, `JSON.stringify(wireObject(message))` to the byte. Hand-tuned: the IDs,
 * type, category and tag the pipeline sends need no escaping, so they are written as they
 * are and only the free text is stringified (a few hundred nanoseconds instead of about two
 * microseconds for the object); anything else takes `JSON.stringify` of the object.
 */
export function toWireBody(message: OutboundMessage): string {
  const { messageType, to, from, content, category, tag, clientRef, webhookUrl } = message;
  if (
    !PLAIN_DIGITS.test(to) ||
    !PLAIN_DIGITS.test(from) ||
    !PLAIN_WORD.test(messageType) ||
    !PLAIN_WORD.test(category) ||
    (tag !== undefined && !PLAIN_WORD.test(tag))
  ) {
    return JSON.stringify(wireObject(message));
  }
  const value = JSON.stringify(content);
  let json = `{"channel":"messenger","message_type":"${messageType}","to":"${to}","from":"${from}",`;
  json += messageType === 'text' ? `"text":${value}` : `"${messageType}":{"url":${value}}`;
  json +=
    tag === undefined
      ? `,"messenger":{"category":"${category}"}`
      : `,"messenger":{"category":"${category}","tag":"${tag}"}`;
  if (clientRef !== undefined) json += `,"client_ref":${JSON.stringify(clientRef)}`;
  if (webhookUrl !== undefined) json += `,"webhook_url":${JSON.stringify(webhookUrl)}`;
  return `${json}}`;
}

/** A `message_uuid` as an id: 1 to 255 printable characters, no spaces. */
const MESSAGE_UUID = /^[\x21-\x7e]{1,255}$/;

/**
 * Parses a `Retry-After` header: delay-seconds or an HTTP date. Returns ms, or `undefined`
 * when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Every HTTP-date form starts with a day name; Date.parse would also read "1.5" or "-1" as
  // dates long past, and so retry at once.
  if (!/^[A-Za-z]{3}/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * Parses `X-RateLimit-Reset`, "Unix timestamp when limit resets" (Messages API spec v1.20),
 * into ms from `now`. The spec's own example, 1769182705723, is in milliseconds, so a value of
 * 10^11 or more is read as milliseconds and a smaller one as seconds. `undefined` when absent
 * or unreadable.
 *
 * @example
 * ```ts
 * parseRateLimitReset(String(Date.now() + 1500), Date.now()) // about 1500
 * ```
 */
export function parseRateLimitReset(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (!/^\d+$/.test(trimmed)) return undefined;
  const n = Number(trimmed);
  if (!Number.isSafeInteger(n)) return undefined;
  const at = n >= 1e11 ? n : n * 1000;
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

/** Why a request got no answer: the OS error code when there is one (also under a `fetch` failure's cause). */
function networkReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code ?? (error.cause as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : error.message;
}

/** Reads a 2xx answer's `message_uuid`; a 2xx without one is an error, not a success. */
function acceptedUuid({ status, text, data }: Answer): string {
  let body = data;
  if (body === undefined) {
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new VonageApiError(
        `Vonage answered ${status} with a body that is not JSON`,
        { status, detail: text.length > 500 ? `${text.slice(0, 500)}…` : text },
        { cause: error },
      );
    }
  }
  const uuid = (body as { message_uuid?: unknown } | null)?.message_uuid;
  // An empty or blank id could never be matched to its status webhooks.
  if (typeof uuid !== 'string' || !MESSAGE_UUID.test(uuid)) {
    throw new VonageApiError(`Vonage answered ${status} without a message_uuid`, {
      status,
      detail: 'response has no message_uuid',
    });
  }
  return uuid;
}

/**
 * The send loop both transports share: signs (outside the network's error handling), calls
 * the exchange, and maps each answer — 2xx to the `message_uuid`, 429 to a retry or
 * `RateLimitError`, any other status to `VonageApiError` (401 drops the cached token), no
 * answer to `NetworkError` with the cause.
 */
export function createSendLoop<Body>(
  options: SendLoopOptions<Body>,
): (message: OutboundMessage) => Promise<{ messageUuid: string }> {
  const { url, auth, encode, exchange } = options;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const clock = options.clock ?? Date.now;
  const retry = options.retry === false ? { retries: 0, baseDelayMs: 0, maxDelayMs: 0 } : options.retry;
  const retries = Math.max(0, retry?.retries ?? 2);
  const baseDelayMs = retry?.baseDelayMs ?? 250;
  const maxDelayMs = retry?.maxDelayMs ?? 5_000;

  /** Equal jitter: half the exponential step fixed, half random, so retries spread out but still back off. */
  const backoff = (attempt: number) => {
    const step = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
    return Math.round(step / 2 + random() * (step / 2));
  };

  const noAnswer = (error: unknown) =>
    new NetworkError(
      `The request to ${url} failed before Vonage answered (${networkReason(error)}). The message may or may not have been sent; it was not retried.`,
      { cause: error },
    );

  return async (message) => {
    const body = encode(message);
    for (let tries = 0; ; tries++) {
      // Outside the try: a signing failure is not a network failure. A header is at hand
      // except while an asynchronous signer (Web Crypto) signs a token. (Inlined rather than
      // an `attempt` function: one async frame and its promise fewer per send.)
      const header = auth.header();
      const authorization = typeof header === 'string' ? header : await header;
      let answer: Answer;
      try {
        answer = await exchange(body, authorization);
      } catch (error) {
        throw noAnswer(error);
      }
      const { status } = answer;
      if (status >= 200 && status < 300) return { messageUuid: acceptedUuid(answer) };

      const problem = toProblem(status, answer.text);
      if (status === 429) {
        const hinted =
          parseRetryAfter(answer.retryAfter, clock()) ?? parseRateLimitReset(answer.rateLimitReset, clock());
        const wait = hinted ?? backoff(tries);
        if (tries < retries && wait <= maxDelayMs) {
          await sleep(wait);
          await message.beforeRetry?.();
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
  };
}
