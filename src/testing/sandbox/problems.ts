/**
 * The RFC 7807 answers of `POST /v1/messages`, in the shape and wording of the Messages API
 * spec's error schemas (`ErrorUnauthorizedMissingCredentials`, `ErrorInvalidJson`,
 * `ErrorChannel`, `ErrorChannelParams`, `ErrorSender`, `ErrorRecipient`, `ErrorMessageType`,
 * `ErrorMessageParams`, `ErrorClientReference`, `ErrorThrottled`), served with
 * `Content-Type: application/problem+json`.
 *
 * The `#anchor` numbers follow the spec's examples; they do not match the status-webhook
 * codes, which is why clients branch on the HTTP status and `title`, never on `type`.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';

/** One `invalid_parameters` entry. */
export interface ProblemParameter {
  /** The request field Vonage refused. */
  name: string;
  /** Vonage's explanation. */
  reason: string;
}

/** An RFC 7807 problem body as Vonage sends it. */
export interface VonageProblemBody {
  /** The problem type URL (names Vonage's error code). */
  type: string;
  /** A short summary. */
  title: string;
  /** What was wrong. */
  detail: string;
  /** A 32-hex-digit trace id. */
  instance: string;
  /** The refused fields, for 422 answers. */
  invalid_parameters?: ProblemParameter[];
}

/** An HTTP answer: status, problem body, extra headers. */
export interface ProblemAnswer {
  /** The HTTP status to answer. */
  status: number;
  /** The `application/problem+json` body. */
  body: VonageProblemBody;
  /** Extra headers, e.g. `Retry-After` for 429. */
  headers?: Record<string, string>;
}

/** The content type of every error answer. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const OLYMPUS = 'https://developer.nexmo.com/api-errors/messages-olympus';

/** Vonage's `instance` is a 32-hex-digit trace id. */
const traceId = (): string => randomBytes(16).toString('hex');

function problem(
  status: number,
  type: string,
  title: string,
  detail: string,
  params?: ProblemParameter[],
): ProblemAnswer {
  const body: VonageProblemBody = { type, title, detail, instance: traceId() };
  if (params && params.length > 0) body.invalid_parameters = params;
  return { status, body };
}

/** The RFC 7807 answers, one builder per kind (exported as `vonageProblems`). */
export const problems = {
  /** 401: missing, malformed or wrong credentials. */
  unauthorized: (): ProblemAnswer =>
    problem(
      401,
      'https://developer.nexmo.com/api-errors/#unathorized',
      'You did not provide correct credentials.',
      "Check that you're using the correct credentials, and that your account has this feature enabled",
    ),
  /** 422: the body is not JSON (or not a JSON object). */
  invalidJson: (detail: string): ProblemAnswer =>
    problem(
      422,
      'https://developer.nexmo.com/api-errors#invalid-json',
      'The request body did not contain valid JSON',
      detail,
    ),
  /** 422: `channel` is not one this API (the sandbox: only `messenger`) sends to. */
  channel: (): ProblemAnswer =>
    problem(422, `${OLYMPUS}#1100`, 'Unsupported channel', 'The specified channel is not supported.', [
      { name: 'channel', reason: 'Must be `messenger`.' },
    ]),
  /** 422: `messenger.*` is wrong. */
  channelParams: (params: ProblemParameter[]): ProblemAnswer =>
    problem(
      422,
      `${OLYMPUS}#1110`,
      'Invalid channel parameters',
      'The value of one or more parameters is invalid.',
      params,
    ),
  /** 422: `from` is missing or not an ID. */
  sender: (): ProblemAnswer =>
    problem(422, `${OLYMPUS}#1120`, 'Invalid sender', 'The `from` parameter is invalid for the given channel.'),
  /** 422: `to` is missing or not an ID. */
  recipient: (): ProblemAnswer =>
    problem(422, `${OLYMPUS}#1130`, 'Invalid recipient', 'The `to` parameter is invalid for the given channel.'),
  /** 422: `message_type` is not one Messenger takes. */
  messageType: (): ProblemAnswer =>
    problem(
      422,
      `${OLYMPUS}#1140`,
      'Invalid message type',
      'The `message_type` parameter is invalid for the given channel.',
    ),
  /** 422: text or media fields are wrong. */
  messageParams: (params: ProblemParameter[]): ProblemAnswer =>
    problem(422, `${OLYMPUS}#1150`, 'Invalid params', 'The value of one or more parameters is invalid.', params),
  /** 422: `client_ref` is too long or not a string. */
  clientReference: (): ProblemAnswer =>
    problem(
      422,
      `${OLYMPUS}#1060`,
      'Invalid client reference',
      'The client reference can be a string of up to 100 characters.',
    ),
  /** 429 with `Retry-After` (seconds). */
  throttled: (retryAfterSeconds: number): ProblemAnswer => ({
    ...problem(429, `${OLYMPUS}#1010`, 'Rate Limit Hit', 'Please wait, then retry your request'),
    headers: { 'retry-after': String(retryAfterSeconds) },
  }),
  /** 404 for any other path. */
  notFound: (path: string): ProblemAnswer =>
    problem(404, 'https://developer.nexmo.com/api-errors#not-found', 'Not Found', `No route for ${path}`),
  /** 405 for another method on `/v1/messages`. */
  methodNotAllowed: (method: string): ProblemAnswer => ({
    ...problem(
      405,
      'https://developer.nexmo.com/api-errors#method-not-allowed',
      'Method Not Allowed',
      `${method} is not allowed here`,
    ),
    headers: { allow: 'POST' },
  }),
  /** 413 for a body over the sandbox's limit. */
  payloadTooLarge: (limit: number): ProblemAnswer =>
    problem(
      413,
      'https://developer.nexmo.com/api-errors#payload-too-large',
      'Payload Too Large',
      `The request body is larger than ${limit} bytes.`,
    ),
} as const;
