/**
 * `vonage-messenger/testing/msw`: request handlers for apps that mock the network with msw
 * (https://mswjs.io). `messengerHandlers()` answers `POST {apiHost}/v1/messages` like Vonage:
 * 401 without credentials, 422 (RFC 7807, `invalid_parameters`) for a body Vonage would
 * refuse, `202 { message_uuid }` otherwise. `onSend` sees every valid send and may answer
 * differently (429, 401, 500…) with the helpers below.
 *
 * These handlers do not judge Messenger's rules (no state, no status webhooks): for that, use
 * the sandbox (`createSandbox` from `vonage-messenger/testing`). msw is an optional peer
 * dependency, needed only by this entry point.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { type HttpHandler, HttpResponse, http } from 'msw';
import { checkInteger, checkRetryAfter } from './sandbox/check.js';
import { PROBLEM_CONTENT_TYPE, type ProblemParameter, problems, type VonageProblemBody } from './sandbox/problems.js';
import { type SandboxMessage, validateMessageBody } from './sandbox/validate.js';

export type { ProblemParameter, VonageProblemBody } from './sandbox/problems.js';
export type { SandboxMessage } from './sandbox/validate.js';

/** One valid send, as `onSend` sees it. */
export interface MockedSend {
  /** The message as Vonage would read it (category defaults to `response`). */
  message: SandboxMessage;
  /** The JSON body as sent. */
  body: Record<string, unknown>;
  /** The `message_uuid` a 202 answer will carry. */
  messageUuid: string;
  /** The intercepted request (headers included). */
  request: Request;
}

/** What `onSend` may return: a `Response` to answer with it, nothing to answer 202. */
export type MockedSendAnswer = Response | undefined;

/** Options of {@link messengerHandlers}. */
export interface MessengerHandlersOptions {
  /** Default `https://api.nexmo.com` (pass each regional host you use). */
  apiHost?: string;
  /** Answer 422 to bodies Vonage would refuse. Default true. */
  validate?: boolean;
  /** Answer 401 to a request without `Authorization: Bearer|Basic`. Default true. */
  requireAuth?: boolean;
  /** Sees every valid send; return a `Response` to answer it differently. */
  onSend?: (send: MockedSend) => MockedSendAnswer | Promise<MockedSendAnswer>;
}

function problemResponse(status: number, body: VonageProblemBody, headers: Record<string, string> = {}): Response {
  return HttpResponse.json(body, {
    status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, 'x-nexmo-trace-id': body.instance, ...headers },
  });
}

/**
 * An RFC 7807 answer as Vonage sends it, for `onSend`.
 *
 * @example
 * ```ts
 * messengerHandlers({ onSend: () => vonageErrorResponse(500, { title: 'Internal error', detail: 'Try later' }) })
 * ```
 */
export function vonageErrorResponse(
  status: number,
  problem: { type?: string; title: string; detail: string; instance?: string; invalidParameters?: ProblemParameter[] },
  headers: Record<string, string> = {},
): Response {
  // An error answer: a 2xx would read as a success, and a status outside 200–599 is no HTTP status.
  checkInteger(status, 'vonageErrorResponse', 'status', 400, 599);
  const body: VonageProblemBody = {
    type: problem.type ?? 'https://developer.nexmo.com/api-errors/messages-olympus#1000',
    title: problem.title,
    detail: problem.detail,
    instance: problem.instance ?? randomUUID().replaceAll('-', ''),
  };
  if (problem.invalidParameters?.length) body.invalid_parameters = problem.invalidParameters;
  return problemResponse(status, body, headers);
}

/**
 * Vonage's 429 "Rate Limit Hit" with `Retry-After`, for `onSend`.
 *
 * @example
 * ```ts
 * let calls = 0
 * messengerHandlers({ onSend: () => (++calls === 1 ? throttledResponse(1) : undefined) })
 * ```
 */
export function throttledResponse(retryAfterSeconds = 1): Response {
  checkRetryAfter(retryAfterSeconds, 'throttledResponse', 'retryAfterSeconds');
  const answer = problems.throttled(retryAfterSeconds);
  return problemResponse(answer.status, answer.body, answer.headers);
}

/**
 * Vonage's 401 "You did not provide correct credentials.", for `onSend`.
 *
 * @example
 * ```ts
 * messengerHandlers({ onSend: () => unauthorizedResponse() })
 * ```
 */
export function unauthorizedResponse(): Response {
  const answer = problems.unauthorized();
  return problemResponse(answer.status, answer.body);
}

/**
 * msw handlers for the Messages API send endpoint.
 *
 * @example
 * ```ts
 * import { setupServer } from 'msw/node'
 * import { messengerHandlers } from 'vonage-messenger/testing/msw'
 *
 * // The server's lifecycle in a test file, and failing a send: docs/testing.md
 * const sent: unknown[] = []
 * const server = setupServer(...messengerHandlers({ onSend: ({ message }) => void sent.push(message) }))
 * ```
 */
export function messengerHandlers(options: MessengerHandlersOptions = {}): HttpHandler[] {
  const apiHost = (options.apiHost ?? 'https://api.nexmo.com').replace(/\/+$/, '');
  const validate = options.validate ?? true;
  const requireAuth = options.requireAuth ?? true;

  return [
    http.post(`${apiHost}/v1/messages`, async ({ request }) => {
      const authorization = request.headers.get('authorization') ?? '';
      if (requireAuth && !/^(Bearer|Basic) \S+/.test(authorization)) return unauthorizedResponse();
      const text = await request.clone().text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (error) {
        const answer = problems.invalidJson(error instanceof Error ? error.message : String(error));
        return problemResponse(answer.status, answer.body);
      }
      const outcome = validateMessageBody(body);
      if (!outcome.ok && validate) return problemResponse(outcome.problem.status, outcome.problem.body);
      const messageUuid = randomUUID();
      if (outcome.ok && options.onSend) {
        const answer = await options.onSend({
          message: outcome.message,
          body: body as Record<string, unknown>,
          messageUuid,
          request,
        });
        if (answer !== undefined) return answer;
      }
      return HttpResponse.json({ message_uuid: messageUuid }, { status: 202 });
    }),
  ];
}
