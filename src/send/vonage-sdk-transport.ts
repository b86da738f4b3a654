/**
 * The `transport: 'vonage-sdk'` option: sends go through the official `@vonage/messages`
 * client (`new Messages(auth, { apiHost }).send(params)`, on the global `fetch`) to
 * `{apiHost}/v1/messages`, for users who want Vonage's own SDK on the wire.
 *
 * It keeps this SDK's guarantees:
 * - **Same body.** The params are built in the order of `toWireBody`; the SDK's snake_case
 *   serializer turns them into byte-for-byte the body the `http` transport sends.
 * - **Same errors and retries.** The SDK is only the exchange of the shared send loop
 *   (`createSendLoop`): its `VetchError` carries the unread `Response`, which is read here, so
 *   the RFC 7807 fields, the 429 retries, the 401 token drop and `NetworkError` are the
 *   `http` transport's own.
 * - **One signature, no key.** The SDK gets an auth object that holds no credential: its
 *   `create*Header()` return the messenger's cached header, so the SDK never signs a JWT (it
 *   would sign one per request) and its `DEBUG=vonage:*` logging of the auth object cannot
 *   print the private key. The header it logs is redacted too (see {@link sdkAuth}).
 *
 * `@vonage/messages` is an optional peer dependency, loaded on the first send (so the default
 * transport never pays for it); when it is not installed that send fails, before any request,
 * with a `MissingDependencyError` that names what to install.
 *
 * @module
 */
import { inspect } from 'node:util';
import type { AuthInterface } from '@vonage/auth';
import type { Messages, MessengerCategory } from '@vonage/messages';
import { MissingDependencyError } from '../errors.js';
import type { AuthProvider } from './auth.js';
import {
  type Answer,
  createSendLoop,
  type Exchange,
  messagesUrl,
  type OutboundMessage,
  RequestTimeout,
  type Transport,
  type TransportOptions,
} from './transport.js';

/** The optional peers this transport needs (`@vonage/auth` is a dependency of `@vonage/messages`'s client). */
export const VONAGE_SDK_PACKAGES = ['@vonage/messages', '@vonage/auth'] as const;

/**
 * The error for a failed `import('@vonage/messages')`: a `MissingDependencyError` when the
 * package is not installed, the import's own error otherwise (a broken installation).
 */
export function sdkImportError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  const missing =
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    VONAGE_SDK_PACKAGES.some((name) => String((error as Error).message).includes(name));
  if (!missing) return error;
  return new MissingDependencyError(
    `transport: 'vonage-sdk' needs Vonage's SDK, an optional peer dependency that is not installed: npm install ${VONAGE_SDK_PACKAGES.join(' ')} (or use the default transport, which needs nothing).`,
    VONAGE_SDK_PACKAGES,
    { cause: error },
  );
}

/** The message as `Messages.send` takes it (camelCase; the SDK snake-cases it). */
type SdkParams = Parameters<Messages['send']>[0];
type VetchRequest = Parameters<Messages['sendRequest']>[0];

/**
 * The params for `Messages.send`, keys in the order of `toWireBody`, so that the SDK's
 * serializer produces the same bytes.
 */
export function toSdkParams(message: OutboundMessage): SdkParams {
  const { messageType, content, category, tag } = message;
  const params: Record<string, unknown> = { channel: 'messenger', messageType, to: message.to, from: message.from };
  params[messageType] = messageType === 'text' ? content : { url: content };
  params.messenger = { category: category as MessengerCategory, ...(tag === undefined ? {} : { tag }) };
  if (message.clientRef !== undefined) params.clientRef = message.clientRef;
  if (message.webhookUrl !== undefined) params.webhookUrl = message.webhookUrl;
  return params as SdkParams;
}

/**
 * The header as a `String` object: `fetch` sends its value, while `util.inspect` and
 * `JSON.stringify` — what the SDK's debug log uses on every request — see `[redacted]`.
 */
function redacted(header: string): string {
  const scheme = header.slice(0, header.indexOf(' ') + 1);
  // A boxed string is the point: fetch converts header values with String().
  const boxed = new String(header);
  Object.defineProperty(boxed, inspect.custom, { value: () => `'${scheme}[redacted]'` });
  Object.defineProperty(boxed, 'toJSON', { value: () => `${scheme}[redacted]` });
  return boxed as unknown as string;
}

/**
 * The auth object handed to the SDK. It holds no credential (not even the header: that lives
 * in the `AuthProvider`'s closure), so `log("Auth config", this.auth)` prints only
 * `VonageSdkAuth(jwt)`. Having no `applicationId`/`privateKey`, it makes `Messages` choose
 * Basic and call `createBasicHeader()`; both header methods return the same cached value,
 * which may be `Bearer …` — Vonage reads the scheme, not the SDK's guess.
 */
export function sdkAuth(auth: AuthProvider): AuthInterface {
  let raw = '';
  let boxed = '';
  const header = async () => {
    const value = await auth.header();
    if (value !== raw) {
      raw = value;
      boxed = redacted(value);
    }
    return boxed;
  };
  const unsupported = async (): Promise<never> => {
    throw new Error('vonage-messenger authenticates the Messages API with a header only');
  };
  const out = {
    createBasicHeader: header,
    createBearerHeader: header,
    // An own property: `Client` takes an object with one as a ready auth instance instead of wrapping it in `new Auth()`.
    getQueryParams: unsupported,
    createSignatureHash: unsupported,
  };
  Object.defineProperty(out, inspect.custom, { value: () => `VonageSdkAuth(${auth.kind})` });
  Object.defineProperty(out, 'toJSON', { value: () => ({ kind: auth.kind }) });
  return Object.freeze(out) as AuthInterface;
}

/**
 * A transport that sends through `@vonage/messages`, with the `http` transport's retries and
 * errors. `timeoutMs` bounds the whole request (the SDK aborts its `fetch`), not socket silence.
 */
export function createVonageSdkTransport(
  options: TransportOptions,
  importSdk: () => Promise<typeof import('@vonage/messages')> = () => import('@vonage/messages'),
): Transport {
  const url = messagesUrl(options.apiHost);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const config = {
    apiHost: options.apiHost.replace(/\/+$/, ''),
    timeout: timeoutMs,
    appendUserAgent: 'vonage-messenger',
  };
  let client: Messages | undefined;
  let loading: Promise<Messages> | undefined;
  const load = () => {
    loading ??= importSdk().then(
      ({ Messages }) => {
        /**
         * `Messages.send` reads `data.message_uuid` from whatever the client decoded: a 2xx whose
         * JSON body did not parse would surface as a `TypeError`, indistinguishable from a failed
         * `fetch`. Such an answer is thrown here the way `VetchError` carries one, with its response.
         */
        class AnsweredMessages extends Messages {
          /**
           * The SDK's own `sendRequest`, with `redirect: 'manual'`: a redirect is an answer, as
           * on the other transports. Followed, a 307 would re-post the message (PSID, text) to
           * another origin and resolve with that origin's id.
           */
          override async sendRequest<T>(request: VetchRequest) {
            const timeout = request.timeout || this.config.timeout;
            const controller = new AbortController();
            const timer = timeout ? setTimeout(() => controller.abort(), timeout) : undefined;
            try {
              const prepared = await this.prepareRequest(request);
              const response = await fetch(prepared.url, {
                method: prepared.method,
                headers: prepared.headers as Record<string, string>,
                body: this.prepareBody(prepared) ?? null,
                redirect: 'manual',
                ...(timeout ? { signal: controller.signal } : {}),
              });
              return await this.parseResponse<T>(prepared, response);
            } finally {
              clearTimeout(timer);
            }
          }

          protected override async parseResponse<T>(request: VetchRequest, response: Response) {
            const result = await super.parseResponse<T>(request, response);
            if (result.data === null || typeof result.data !== 'object') {
              throw Object.assign(new Error(`Vonage answered ${response.status} with a body that is not JSON`), {
                response,
              });
            }
            return result;
          }
        }
        client = new AnsweredMessages(sdkAuth(options.auth), config);
        return client;
      },
      (error: unknown) => {
        loading = undefined; // the next send tries again (after an install, say)
        throw sdkImportError(error);
      },
    );
    return loading;
  };

  // The SDK asks its auth object for the header, which reads the same cache the loop just
  // signed into; the loop's `authorization` argument is therefore not needed here.
  const exchange: Exchange<SdkParams> = async (params) => {
    const messages = client ?? (await load());
    try {
      const { messageUUID } = await messages.send(params);
      // `send` keeps only the uuid of the decoded body, and not the status: Vonage's success is 202.
      return { status: 202, retryAfter: null, text: '', data: { message_uuid: messageUUID } };
    } catch (error) {
      const response = (error as { response?: unknown } | null)?.response;
      if (!(response instanceof Response)) {
        if ((error as Error | null)?.name === 'AbortError') {
          throw new RequestTimeout(`no answer within ${timeoutMs} ms`, { cause: error });
        }
        throw error;
      }
      // A VetchError: Vonage answered and the SDK threw before reading the body. (After a 2xx
      // it could not decode, the body is already consumed.)
      const answer: Answer = {
        status: response.status,
        retryAfter: response.headers.get('retry-after'),
        rateLimitReset: response.headers.get('x-ratelimit-reset'),
        text: response.bodyUsed ? '' : await response.text(),
      };
      return answer;
    }
  };
  const send = createSendLoop({ ...options, url, encode: toSdkParams, exchange });

  return {
    url,
    async send(message) {
      // Loaded before the loop, so that a broken installation is not reported as a network error.
      if (client === undefined) await load();
      return send(message);
    },
    close() {
      // Nothing to close: the SDK uses the process-wide `fetch` connection pool.
    },
  };
}
