/**
 * A local stand-in for the Vonage Messages API, Messenger channel: a node:http server on
 * 127.0.0.1 that answers `POST /v1/messages` like Vonage (auth, validation, RFC 7807
 * errors, `202 { message_uuid }`), judges each accepted message by Messenger's rules with its
 * own platform state, and posts signed status webhooks (`submitted`, `delivered`, `read`, or
 * `rejected` with Vonage's error) to the app. `userSays` plays the user: it posts a signed
 * inbound webhook, as Vonage would.
 *
 * It needs no credentials and no network, so tests and the demo see the whole loop:
 * webhook in → window opens → send → status webhook → window closes → refusal.
 *
 * Everything is bounded: request bodies (1 MiB), recorded requests (10 000), webhook calls
 * (10 s each, no retries). `close()` waits for webhooks in flight and closes every socket.
 *
 * @module
 */

import { KeyObject, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MessengerPolicy } from '../policy.js';
import type { ConversationState } from '../store/types.js';
import { DELIVERY_STATUSES, type DeliveryStatus, MESSAGING_CATEGORIES, WEBHOOK_VERSIONS } from '../vocabulary.js';
import {
  type InboundMessageType,
  inboundAudio,
  inboundFile,
  inboundImage,
  inboundText,
  inboundUnsupported,
  inboundVideo,
  type MessageStatusValue,
  messageStatus,
  type WebhookVersion,
} from './builders.js';
import { type AuthKind, createAuthChecker } from './sandbox/auth.js';
import {
  checkBoolean,
  checkDate,
  checkDuration,
  checkFunction,
  checkId,
  checkInteger,
  checkNames,
  checkObject,
  checkRetryAfter,
  checkText,
  checkUrl,
  checkWord,
  rangeError,
  typeError,
} from './sandbox/check.js';
import { PROBLEM_CONTENT_TYPE, type ProblemAnswer, problems } from './sandbox/problems.js';
import { type SandboxMessage, validateMessageBody } from './sandbox/validate.js';
import { createWorld, type ThreadRefusal, type Verdict } from './sandbox/world.js';
import { signWebhook } from './sign.js';

export type { AuthKind } from './sandbox/auth.js';
export { MESSAGES_ERRORS, type MessagesErrorCode, messagesErrorDetail, messagesErrorType } from './sandbox/codes.js';
export type { ProblemAnswer, ProblemParameter, VonageProblemBody } from './sandbox/problems.js';
export { problems as vonageProblems } from './sandbox/problems.js';
export { PLATFORM_RULES, type PlatformRules, type PlatformTag } from './sandbox/rules.js';
export { type SandboxMessage, type ValidationOutcome, validateMessageBody } from './sandbox/validate.js';
export type { ThreadRefusal, Verdict } from './sandbox/world.js';

/** Options of {@link createSandbox}. */
export interface SandboxOptions {
  /** The signature secret webhooks are signed with (give the messenger the same). */
  signatureSecret: string;
  /** Port on 127.0.0.1; default 0 (a free port, read it from `sandbox.url`). */
  port?: number | undefined;
  /** `api_key` claim of signed webhooks. Default `"test-api-key"` (signWebhook's default). */
  apiKey?: string | undefined;
  /** `application_id` claim of signed webhooks; also the only application a JWT may name. */
  applicationId?: string | undefined;
  /** The application's public key: bearer JWTs must be signed by its private key (RS256). */
  publicKey?: string | Buffer | KeyObject | undefined;
  /** When set, Basic credentials must be exactly these. */
  basicAuth?: { apiKey: string; apiSecret: string };
  /** Where `userSays` posts inbound webhooks (also settable later: `sandbox.webhookUrl = …`). */
  webhookUrl?: string | undefined;
  /** Where status webhooks go, unless a message names its own `webhook_url`. */
  statusUrl?: string | undefined;
  /** The clock before any `advance`. Default `() => new Date()`. */
  now?: (() => Date) | undefined;
  /** Linked Page IDs. Unset: every Page is linked (until `unlinkPage`); set: others get 1420. */
  pages?: readonly string[] | undefined;
  /**
   * The platform's rules as SDK policy data (read as data; the sandbox evaluates them with its
   * own code, without a safety margin). Default: the sandbox's own table, `PLATFORM_RULES`.
   */
  policy?: MessengerPolicy | undefined;
  /** Has Meta approved the app for HUMAN_AGENT? Default true; false rejects it with 1021. */
  humanAgent?: boolean | undefined;
  /** The last status a delivered message reaches: `submitted`, `delivered` or `read` (default). */
  deliverUntil?: DeliveryStatus | undefined;
  /** Wire format of inbound and status webhooks (a message's `webhook_version` wins). Default `v1`. */
  webhookVersion?: WebhookVersion | undefined;
  /** Largest accepted request body. Default 1 MiB. */
  maxBodyBytes?: number | undefined;
  /** How long a webhook call may take. Default 10 000 ms. */
  webhookTimeoutMs?: number | undefined;
  /**
   * The clock of webhook tokens' `iat`. Default the sandbox's clock. A standalone sandbox
   * passes the wall clock, so that a bot on real time still accepts tokens after `advance`.
   */
  signingClock?: (() => Date) | undefined;
}

/**
 * One entry of the sandbox's live feed ({@link Sandbox.subscribe}): a request it answered or a
 * webhook it posted, as recorded in `requests` and `webhooks`.
 */
export type SandboxFeedEntry =
  | {
      /** A request the sandbox answered. */
      kind: 'request';
      /** The request, as recorded in `sandbox.requests`. */
      request: SandboxRequest;
    }
  | {
      /** A webhook the sandbox posted. */
      kind: 'webhook';
      /** The webhook, as recorded in `sandbox.webhooks`. */
      webhook: SandboxWebhook;
    };

/** One request that reached the sandbox, and its answer. */
export interface SandboxRequest {
  /** 1, 2, 3… in arrival order. */
  id: number;
  /** Sandbox time of arrival. */
  at: Date;
  /** The HTTP method, e.g. `POST`. */
  method: string;
  /** The request path, e.g. `/v1/messages`. */
  path: string;
  /** The credential kind (never the credential). */
  auth: AuthKind;
  /** The parsed JSON body, or the raw text when it was not JSON. */
  body: unknown;
  /** The HTTP status answered. */
  status: number;
  /** The JSON body answered. */
  response: unknown;
  /** For an accepted message: its `message_uuid`, the message and the platform's verdict. */
  messageUuid?: string;
  /** The accepted message, as the sandbox read it. */
  message?: SandboxMessage;
  /** Whether the platform delivered it or rejected it (with Vonage's code). */
  verdict?: Verdict;
}

/** One webhook the sandbox posted to the app. */
export interface SandboxWebhook {
  /** `inbound` from `userSays`, `status` after a send. */
  kind: 'inbound' | 'status';
  /** Where it was posted. */
  url: string;
  /** The JSON body posted (signed in the `Authorization` header). */
  body: Record<string, unknown>;
  /** For status webhooks: the status posted. */
  status?: MessageStatusValue;
  /** The app's HTTP status, or `undefined` when the call failed (see `error`). */
  responseStatus: number | undefined;
  /** Why the call failed (refused, timed out), when it did. */
  error?: string;
}

/** Input of {@link Sandbox.userSays}. */
export interface UserSaysInput {
  /** The Page the user writes to. */
  page: string;
  /** The user's PSID. */
  psid: string;
  /** Default `"Hello"` for text. */
  text?: string | undefined;
  /** Message type; default `text`. Media types carry `url`. */
  type?: InboundMessageType | undefined;
  /** The media URL, for the media types. */
  url?: string | undefined;
  /** Default a fresh UUID (repeat one to test duplicates). */
  messageUuid?: string | undefined;
  /** When the user wrote; default the sandbox's now. */
  at?: Date | undefined;
  /**
   * The message came from a Click-to-Messenger ad: the platform allows untagged sends for 7
   * days from it. Vonage's webhook carries no sign of it (the app learns it elsewhere and calls
   * `messenger.recordAdReferral`), so the posted webhook is the same.
   */
  fromAd?: boolean | undefined;
}

/** A running sandbox. Every method is a plain function: `now: sandbox.now` works unbound. */
export interface Sandbox {
  /** Base URL, e.g. `http://127.0.0.1:39153`: pass it as the messenger's `apiHost`. */
  readonly url: string;
  /** Where `userSays` posts. */
  webhookUrl: string | undefined;
  /** Where status webhooks go. */
  statusUrl: string | undefined;
  /** Every request that reached `POST /v1/messages` (and any other path), oldest first. */
  readonly requests: readonly SandboxRequest[];
  /** Every webhook posted to the app, oldest first. */
  readonly webhooks: readonly SandboxWebhook[];
  /** The sandbox's clock: share it with the messenger (`now: sandbox.now`). */
  now(): Date;
  /** Moves the clock forward by `ms`; returns the new time. */
  advance(ms: number): Date;
  /** The user writes to the Page: a signed inbound webhook is posted; resolves to the app's HTTP status. */
  userSays(input: UserSaysInput): Promise<number>;
  /** Simulates an expired Page link: its sends are rejected with 1370 until `linkPage`. */
  unlinkPage(pageId: string): void;
  /** Links a Page (again). */
  linkPage(pageId: string): void;
  /** Approves or withdraws HUMAN_AGENT for one Page (without `pageId`: for every Page); withdrawn, it is rejected with 1021. */
  setHumanAgent(approved: boolean, pageId?: string): void;
  /**
   * The platform refuses the thread from now until the user writes again: 1340 (window) or
   * 1430 (user unreachable), as Meta may decide for reasons the app cannot see.
   */
  refuseThread(pageId: string, psid: string, code: ThreadRefusal): void;
  /** The verdict a send would get now, without sending it (no request, no webhook). */
  judge(message: { from: string; to: string; category?: SandboxMessage['category']; tag?: string }): Verdict;
  /** Answers the next `count` sends with 429 and `Retry-After: retryAfterSeconds` (default 1). */
  throttle(count: number, retryAfterSeconds?: number): void;
  /** The conversation as the platform sees it (`null` if the user never wrote). */
  conversation(pageId: string, psid: string): ConversationState | null;
  /** Resolves once every status webhook triggered so far has been posted. */
  settled(): Promise<void>;
  /** Forgets recorded requests and webhooks (not the platform state). */
  clearHistory(): void;
  /** Calls `listener` with each request answered and webhook posted from now on; returns the unsubscribe. */
  subscribe(listener: (entry: SandboxFeedEntry) => void): () => void;
  /** Stops the server, waits for webhooks in flight, closes every socket. */
  close(): Promise<void>;
}

const MAX_RECORDS = 10_000;
/** The statuses a delivered message goes through, up to `until`. */
const statusesUntil = (until: DeliveryStatus): readonly DeliveryStatus[] =>
  DELIVERY_STATUSES.slice(0, DELIVERY_STATUSES.indexOf(until) + 1);

class BodyTooLarge extends Error {}

function readBody(request: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Keep draining so the answer can be written, but stop keeping bytes.
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () =>
      size > limit ? reject(new BodyTooLarge()) : resolve(Buffer.concat(chunks).toString('utf8')),
    );
    request.on('error', reject);
  });
}

function pushBounded<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > MAX_RECORDS) list.splice(0, list.length - MAX_RECORDS);
}

const inboundBuilders = {
  text: inboundText,
  image: inboundImage,
  audio: inboundAudio,
  video: inboundVideo,
  file: inboundFile,
} as const;
const INBOUND_TYPES: readonly InboundMessageType[] = [
  ...(Object.keys(inboundBuilders) as (keyof typeof inboundBuilders)[]),
  'unsupported',
];
const THREAD_REFUSALS: readonly number[] = [1340, 1430] satisfies readonly ThreadRefusal[];

// Every name each input takes, typed against its interface: a new option cannot be left out.
const SANDBOX_OPTIONS: Readonly<Record<keyof SandboxOptions, true>> = {
  signatureSecret: true,
  port: true,
  apiKey: true,
  applicationId: true,
  publicKey: true,
  basicAuth: true,
  webhookUrl: true,
  statusUrl: true,
  now: true,
  pages: true,
  policy: true,
  humanAgent: true,
  deliverUntil: true,
  webhookVersion: true,
  maxBodyBytes: true,
  webhookTimeoutMs: true,
  signingClock: true,
};
const USER_SAYS_INPUT: Readonly<Record<keyof UserSaysInput, true>> = {
  page: true,
  psid: true,
  text: true,
  type: true,
  url: true,
  messageUuid: true,
  at: true,
  fromAd: true,
};
type JudgeInput = Parameters<Sandbox['judge']>[0];
const JUDGE_INPUT: Readonly<Record<keyof JudgeInput, true>> = { from: true, to: true, category: true, tag: true };

/**
 * The policy is read as data by the sandbox's own code, which does not run the SDK's
 * `definePolicy` checks: a NaN or negative window would make every comparison false.
 */
function checkPolicy(policy: unknown, where: string): asserts policy is MessengerPolicy {
  checkObject(policy, where, 'policy');
  checkDuration(policy.standardWindowMs, where, 'policy.standardWindowMs');
  if (policy.adReferralWindowMs !== undefined) {
    checkDuration(policy.adReferralWindowMs, where, 'policy.adReferralWindowMs');
  }
  checkObject(policy.tags, where, 'policy.tags');
  for (const [name, rule] of Object.entries(policy.tags)) {
    checkObject(rule, where, `policy.tags.${name}`);
    if (rule.windowMs !== null) checkDuration(rule.windowMs, where, `policy.tags.${name}.windowMs (or null)`);
    if (rule.retiredAt !== undefined) checkDate(rule.retiredAt, where, `policy.tags.${name}.retiredAt`);
  }
}

/** Refuses what `createSandbox` would otherwise ignore or misread, naming the option. */
function checkSandboxOptions(options: unknown): asserts options is SandboxOptions {
  const where = 'createSandbox';
  checkNames<SandboxOptions>(options, where, SANDBOX_OPTIONS);
  checkText(options.signatureSecret, where, 'signatureSecret');
  const { port, publicKey, basicAuth, pages } = options;
  if (port !== undefined) checkInteger(port, where, 'port', 0, 65_535);
  if (options.apiKey !== undefined) checkText(options.apiKey, where, 'apiKey');
  if (options.applicationId !== undefined) checkText(options.applicationId, where, 'applicationId');
  if (
    publicKey !== undefined &&
    typeof publicKey !== 'string' &&
    !Buffer.isBuffer(publicKey) &&
    !(publicKey instanceof KeyObject)
  ) {
    throw typeError(where, 'publicKey', 'a PEM string, a Buffer or a KeyObject', publicKey);
  }
  if (basicAuth !== undefined) {
    checkNames<{ apiKey: string; apiSecret: string }>(basicAuth, `${where}: basicAuth`, {
      apiKey: true,
      apiSecret: true,
    });
    checkText(basicAuth.apiKey, where, 'basicAuth.apiKey');
    checkText(basicAuth.apiSecret, where, 'basicAuth.apiSecret');
  }
  if (options.webhookUrl !== undefined) checkUrl(options.webhookUrl, where, 'webhookUrl');
  if (options.statusUrl !== undefined) checkUrl(options.statusUrl, where, 'statusUrl');
  if (options.now !== undefined) checkFunction(options.now, where, 'now');
  if (options.signingClock !== undefined) checkFunction(options.signingClock, where, 'signingClock');
  if (pages !== undefined) {
    if (!Array.isArray(pages)) throw typeError(where, 'pages', 'an array of Page IDs', pages);
    for (const [index, page] of (pages as unknown[]).entries()) checkId(page, where, `pages[${index}]`);
  }
  if (options.policy !== undefined) checkPolicy(options.policy, where);
  if (options.humanAgent !== undefined) checkBoolean(options.humanAgent, where, 'humanAgent');
  if (options.deliverUntil !== undefined) checkWord(options.deliverUntil, where, 'deliverUntil', DELIVERY_STATUSES);
  if (options.webhookVersion !== undefined) {
    checkWord(options.webhookVersion, where, 'webhookVersion', WEBHOOK_VERSIONS);
  }
  if (options.maxBodyBytes !== undefined) checkInteger(options.maxBodyBytes, where, 'maxBodyBytes', 1);
  if (options.webhookTimeoutMs !== undefined) checkInteger(options.webhookTimeoutMs, where, 'webhookTimeoutMs', 1);
}

/**
 * A clock given as an option, read with a check: one that returns anything but a valid Date
 * would date every webhook "Invalid Date" and judge every send against NaN.
 */
function checkedClock(clock: () => Date, name: string): () => Date {
  return () => {
    const value: unknown = clock();
    checkDate(value, 'createSandbox', `${name}()`);
    return value;
  };
}

/**
 * Refuses a `userSays` the platform could not have seen, before anything is recorded or
 * posted: without a valid `page` the webhook would go to the default Page while the
 * conversation was kept under "undefined".
 */
function checkUserSays(input: unknown, now: Date): asserts input is UserSaysInput {
  const where = 'sandbox.userSays';
  checkNames<UserSaysInput>(input, where, USER_SAYS_INPUT);
  checkId(input.page, where, 'page');
  checkId(input.psid, where, 'psid');
  const type = input.type ?? 'text';
  checkWord(type, where, 'type', INBOUND_TYPES);
  if (input.text !== undefined) {
    if (type !== 'text') throw new TypeError(`${where}: text goes with type "text", not "${type}"`);
    checkText(input.text, where, 'text');
  }
  if (input.url !== undefined) {
    if (type === 'text' || type === 'unsupported') {
      throw new TypeError(`${where}: url goes with a media type (image, audio, video, file), not "${type}"`);
    }
    checkUrl(input.url, where, 'url');
  }
  if (input.messageUuid !== undefined) checkText(input.messageUuid, where, 'messageUuid');
  if (input.at !== undefined) {
    checkDate(input.at, where, 'at');
    // A message from the future would hold the window open past what the platform allows.
    if (input.at.getTime() > now.getTime()) {
      throw new RangeError(
        `${where}: at (${input.at.toISOString()}) is after the sandbox's now (${now.toISOString()}); a user cannot write in the future`,
      );
    }
  }
  if (input.fromAd !== undefined) checkBoolean(input.fromAd, where, 'fromAd');
}

/**
 * Starts a local Messages API sandbox on 127.0.0.1.
 *
 * @example
 * ```ts
 * const sandbox = await createSandbox({ signatureSecret: 'test-secret' })
 * const messenger = createMessenger({
 *   apiHost: sandbox.url, now: sandbox.now, signatureSecret: 'test-secret', applicationId, privateKey,
 * })
 * sandbox.webhookUrl = 'http://127.0.0.1:3000/webhooks/inbound'
 * await sandbox.userSays({ page: '1029', psid: '2538', text: 'hi' })
 * await messenger.sendText({ from: pageId('1029'), to: psid('2538'), text: 'Hello!' })
 * await sandbox.settled()
 * await sandbox.close()
 * ```
 */
export async function createSandbox(options: SandboxOptions): Promise<Sandbox> {
  checkSandboxOptions(options);
  const baseClock = options.now ? checkedClock(options.now, 'now') : () => new Date();
  let offset = 0;
  const now = (): Date => new Date(baseClock().getTime() + offset);
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const webhookTimeoutMs = options.webhookTimeoutMs ?? 10_000;
  const deliverUntil = options.deliverUntil ?? 'read';
  const defaultVersion = options.webhookVersion ?? 'v1';
  const checkAuth = createAuthChecker({
    ...(options.publicKey !== undefined ? { publicKey: options.publicKey } : {}),
    ...(options.applicationId !== undefined ? { applicationId: options.applicationId } : {}),
    ...(options.basicAuth !== undefined ? { basicAuth: options.basicAuth } : {}),
  });
  const world = createWorld({
    ...(options.pages !== undefined ? { pages: options.pages } : {}),
    ...(options.policy !== undefined ? { policy: options.policy } : {}),
    ...(options.humanAgent !== undefined ? { humanAgent: options.humanAgent } : {}),
  });

  const requests: SandboxRequest[] = [];
  const webhooks: SandboxWebhook[] = [];
  const listeners = new Set<(entry: SandboxFeedEntry) => void>();
  const publish = (entry: SandboxFeedEntry): void => {
    for (const listener of listeners) {
      // A failing listener must not break the sandbox's answer or its other listeners.
      try {
        listener(entry);
      } catch {}
    }
  };
  const signingClock = options.signingClock ? checkedClock(options.signingClock, 'signingClock') : now;
  // Read both clocks once now, so that a bad one fails createSandbox, not a later webhook.
  now();
  signingClock();
  const pending = new Set<Promise<void>>();
  let nextId = 1;
  let throttled = 0;
  let retryAfterSeconds = 1;

  async function postWebhook(
    kind: SandboxWebhook['kind'],
    url: string,
    body: Record<string, unknown>,
    status?: MessageStatusValue,
  ): Promise<SandboxWebhook> {
    const signed = signWebhook(body, options.signatureSecret, {
      issuedAt: signingClock(),
      ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
      ...(options.applicationId !== undefined ? { applicationId: options.applicationId } : {}),
    });
    const record: SandboxWebhook = { kind, url, body, responseStatus: undefined, ...(status ? { status } : {}) };
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { ...signed.headers, 'user-agent': 'vonage-messenger-sandbox' },
        body: signed.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(webhookTimeoutMs),
      });
      record.responseStatus = response.status;
      await response.arrayBuffer().catch(() => undefined);
    } catch (error) {
      record.error =
        error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    }
    pushBounded(webhooks, record);
    publish({ kind: 'webhook', webhook: record });
    return record;
  }

  function track(work: Promise<void>): void {
    const guarded = work.catch(() => undefined).finally(() => pending.delete(guarded));
    pending.add(guarded);
  }

  async function postStatuses(
    message: SandboxMessage,
    messageUuid: string,
    verdict: Verdict,
    responded: Promise<void>,
  ): Promise<void> {
    await responded;
    const url = message.webhookUrl ?? sandbox.statusUrl;
    if (url === undefined) return;
    const version = message.webhookVersion ?? defaultVersion;
    const base = {
      pageId: message.from,
      psid: message.to,
      messageUuid,
      version,
      ...(message.clientRef !== undefined ? { clientRef: message.clientRef } : {}),
    };
    if (!verdict.delivered) {
      const body = messageStatus({
        ...base,
        timestamp: now(),
        status: 'rejected',
        error: { code: verdict.code, detail: verdict.detail },
      });
      await postWebhook('status', url, body, 'rejected');
      return;
    }
    for (const status of statusesUntil(deliverUntil)) {
      await postWebhook('status', url, messageStatus({ ...base, timestamp: now(), status }), status);
    }
  }

  function answer(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    const text = JSON.stringify(body);
    const contentType = status >= 400 ? PROBLEM_CONTENT_TYPE : 'application/json';
    const instance = (body as { instance?: unknown } | null)?.instance;
    response.writeHead(status, {
      'content-type': contentType,
      'content-length': Buffer.byteLength(text),
      ...(typeof instance === 'string' ? { 'x-nexmo-trace-id': instance } : {}),
      ...headers,
    });
    response.end(text);
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const at = now();
    const method = request.method ?? 'GET';
    const path = new URL(request.url ?? '/', 'http://sandbox.invalid').pathname;
    const record: SandboxRequest = {
      id: nextId++,
      at,
      method,
      path,
      auth: 'none',
      body: undefined,
      status: 0,
      response: undefined,
    };
    const reply = (problem: ProblemAnswer) => {
      record.status = problem.status;
      record.response = problem.body;
      pushBounded(requests, record);
      publish({ kind: 'request', request: record });
      answer(response, problem.status, problem.body, problem.headers);
    };

    let text: string;
    try {
      text = await readBody(request, maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLarge) return reply(problems.payloadTooLarge(maxBodyBytes));
      throw error;
    }
    let parsed: unknown = text;
    let parseError: string | undefined;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      parseError = error instanceof Error ? error.message : String(error);
    }
    record.body = parsed;

    if (path !== '/v1/messages') return reply(problems.notFound(path));
    if (method !== 'POST') return reply(problems.methodNotAllowed(method));

    const auth = checkAuth(request.headers.authorization);
    record.auth = auth.kind;
    if (!auth.ok) return reply(problems.unauthorized());
    if (throttled > 0) {
      throttled -= 1;
      return reply(problems.throttled(retryAfterSeconds));
    }
    if (parseError !== undefined) return reply(problems.invalidJson(parseError));
    const outcome = validateMessageBody(parsed);
    if (!outcome.ok) return reply(outcome.problem);

    const messageUuid = randomUUID();
    const verdict = world.judge(outcome.message, at.getTime());
    // Each refusal of a thread holds until the user writes at a later millisecond than it.
    if (!verdict.delivered && (verdict.code === 1340 || verdict.code === 1430)) {
      world.refuseThread(outcome.message.from, outcome.message.to, verdict.code, at.getTime());
    }
    record.status = 202;
    record.response = { message_uuid: messageUuid };
    record.messageUuid = messageUuid;
    record.message = outcome.message;
    record.verdict = verdict;
    pushBounded(requests, record);
    publish({ kind: 'request', request: record });
    // Registered before the answer is written, so `settled()` after the client saw 202 waits for it.
    const responded = new Promise<void>((resolve) => {
      response.once('finish', resolve);
      response.once('close', resolve);
    });
    track(postStatuses(outcome.message, messageUuid, verdict, responded));
    answer(response, 202, { message_uuid: messageUuid });
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) {
        answer(response, 500, {
          type: 'https://developer.nexmo.com/api-errors/messages-olympus#1000',
          title: 'Internal error',
          detail: error instanceof Error ? error.message : String(error),
          instance: randomUUID(),
        });
      } else response.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closed = false;

  const sandbox: Sandbox = {
    url: `http://127.0.0.1:${port}`,
    webhookUrl: options.webhookUrl,
    statusUrl: options.statusUrl,
    requests,
    webhooks,
    now,
    advance(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError('sandbox.advance: ms must be a finite number ≥ 0');
      offset += ms;
      return now();
    },
    async userSays(input) {
      checkUserSays(input, now());
      const url = sandbox.webhookUrl;
      if (url === undefined) {
        throw new Error(
          'sandbox.userSays: set webhookUrl (createSandbox({ webhookUrl }) or sandbox.webhookUrl = …) first',
        );
      }
      const at = input.at ?? now();
      const messageUuid = input.messageUuid ?? randomUUID();
      const type = input.type ?? 'text';
      const common = { pageId: input.page, psid: input.psid, messageUuid, timestamp: at, version: defaultVersion };
      const body =
        type === 'text'
          ? inboundText({ ...common, ...(input.text !== undefined ? { text: input.text } : {}) })
          : type === 'unsupported'
            ? inboundUnsupported(common)
            : inboundBuilders[type]({ ...common, ...(input.url !== undefined ? { url: input.url } : {}) });
      // The platform knows the user wrote, whatever the app answers.
      world.userWrote(input.page, input.psid, at.getTime(), messageUuid, input.fromAd === true);
      const record = await postWebhook('inbound', url, body);
      if (record.responseStatus === undefined) {
        throw new Error(`sandbox.userSays: the webhook call to ${url} failed: ${record.error}`);
      }
      return record.responseStatus;
    },
    unlinkPage(pageId) {
      checkId(pageId, 'sandbox.unlinkPage', 'pageId');
      world.unlinkPage(pageId);
    },
    linkPage(pageId) {
      checkId(pageId, 'sandbox.linkPage', 'pageId');
      world.linkPage(pageId);
    },
    setHumanAgent(approved, pageId) {
      checkBoolean(approved, 'sandbox.setHumanAgent', 'approved');
      if (pageId !== undefined) checkId(pageId, 'sandbox.setHumanAgent', 'pageId');
      world.setHumanAgent(approved, pageId);
    },
    refuseThread(pageId, psid, code) {
      const where = 'sandbox.refuseThread';
      checkId(pageId, where, 'pageId');
      checkId(psid, where, 'psid');
      if (typeof code !== 'number') throw typeError(where, 'code', '1340 or 1430', code);
      if (!THREAD_REFUSALS.includes(code)) {
        throw rangeError(where, 'code', '1340 (outside the window) or 1430 (user unreachable)', code);
      }
      world.refuseThread(pageId, psid, code, now().getTime());
    },
    judge(message) {
      const where = 'sandbox.judge';
      checkNames<JudgeInput>(message, where, JUDGE_INPUT);
      checkId(message.from, where, 'from');
      checkId(message.to, where, 'to');
      if (message.category !== undefined) checkWord(message.category, where, 'category', MESSAGING_CATEGORIES);
      // Any tag name: judging a retired or unknown tag (1021) is what judge is for.
      if (message.tag !== undefined) checkText(message.tag, where, 'tag');
      return world.judge(
        {
          from: message.from,
          to: message.to,
          category: message.category ?? (message.tag === undefined ? 'response' : 'message_tag'),
          ...(message.tag !== undefined ? { tag: message.tag } : {}),
        },
        now().getTime(),
      );
    },
    throttle(count, seconds = 1) {
      checkInteger(count, 'sandbox.throttle', 'count', 0);
      checkRetryAfter(seconds, 'sandbox.throttle', 'retryAfterSeconds');
      throttled = count;
      retryAfterSeconds = seconds;
    },
    conversation(pageId, psid) {
      checkId(pageId, 'sandbox.conversation', 'pageId');
      checkId(psid, 'sandbox.conversation', 'psid');
      return world.conversation(pageId, psid);
    },
    async settled() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
    clearHistory() {
      requests.length = 0;
      webhooks.length = 0;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await sandbox.settled();
      server.closeAllConnections();
      await stopped;
    },
  };
  return sandbox;
}
