/**
 * `createMessenger(options)`: the one object most users touch. It wires validation (zod),
 * the Page registry, the store, the window policy, the per-Page limiter and the transport
 * for sends, and the webhook layer for `receive` / `webhookHandler`.
 *
 * Order of a send, each step refusing before the next: validate the input → the Page is
 * declared → read the Page link and the conversation (in parallel; a store failure refuses)
 * → the Page is linked → the policy allows it at `now` → the limiter has a token → POST →
 * record the outbound. A refusal at any step opens no socket.
 *
 * @module
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { PageNotLinkedError, ValidationError, VonageApiError, WindowClosedError } from './errors.js';
import { conversationKey, type PageId, PageIdSchema, type Psid, PsidSchema } from './ids.js';
import {
  definePolicy,
  evaluateSend,
  MESSENGER_POLICY,
  type MessagingCategory,
  type MessengerPolicy,
  type SendDecision,
} from './policy.js';
import { type AuthProvider, basicAuth, jwtAuth } from './send/auth.js';
import { createLimiter, type Limiter, type RateLimitOptions } from './send/limiter.js';
import {
  type CanSendInput,
  CanSendSchema,
  type PageIdInput,
  type PsidInput,
  parseInput,
  type SendAudioInput,
  SendAudioSchema,
  SendFileSchema,
  SendImageSchema,
  type SendMediaInput,
  type SendTextInput,
  SendTextSchema,
  SendVideoSchema,
  toIssues,
} from './send/schemas.js';
import { createTransport, type MessengerMessageType, type RetryOptions, type Transport } from './send/transport.js';
import { createVonageSdkTransport } from './send/vonage-sdk-transport.js';
import { callStore } from './store/guard.js';
import { memoryStore } from './store/memory.js';
import type { ClosedReason, ConversationState, PageState, SessionStore, TagAvailability } from './store/types.js';
import {
  createWebhookLayer,
  type PlatformErrorEvent,
  type ReceiveInput,
  type ReceiveResult,
  type WebhookCallbacks,
  type WebhookFetchHandler,
  type WebhookLayer,
} from './webhooks/index.js';
import { taggedSendClaimId } from './webhooks/platform.js';
import { STATUS_DEDUPE_TTL_MS } from './webhooks/receive.js';

export type { RateLimitOptions } from './send/limiter.js';
export type {
  CanSendInput,
  PageIdInput,
  PsidInput,
  SendAudioInput,
  SendCommonInput,
  SendMediaInput,
  SendTextInput,
} from './send/schemas.js';
export type { RetryOptions } from './send/transport.js';

/**
 * Vonage's production host, the default `apiHost`. Regional and sandbox hosts: docs/sending.md.
 *
 * @example
 * ```ts
 * createMessenger({ ..., apiHost: 'https://messages-sandbox.nexmo.com' }) // instead of DEFAULT_API_HOST
 * ```
 */
export const DEFAULT_API_HOST = 'https://api.nexmo.com';

export { CLIENT_RATE_LIMIT_TYPE } from './send/limiter.js';
export { MAX_CLIENT_REF_CHARS, MAX_TEXT_CHARS } from './send/schemas.js';

/**
 * Options of {@link createMessenger}. Either `applicationId` + `privateKey` (JWT) or `apiKey` + `apiSecret` (Basic).
 *
 * @example
 * ```ts
 * const options: MessengerOptions = {
 *   applicationId: process.env.VONAGE_APPLICATION_ID!,
 *   privateKey: './private.key',
 *   signatureSecret: process.env.VONAGE_SIGNATURE_SECRET!,
 *   store: redisStore({ client: new Redis() }),
 *   rateLimit: true,
 * }
 * ```
 */
export interface MessengerOptions {
  /** The Vonage application's ID (JWT auth, recommended). */
  applicationId?: string;
  /** The application's private key: PEM text, a Buffer, or a path to the `.key` file. */
  privateKey?: string | Buffer;
  /** The account's API key (Basic auth; also checked against signed webhooks' `api_key`). */
  apiKey?: string;
  /** The account's API secret (Basic auth). */
  apiSecret?: string;
  /** The signature secret that signs webhooks; several while you rotate it. */
  signatureSecret?: string | readonly string[];
  /** Where windows, Page links and claims live. Default: a new `memoryStore()` (closed by `close()`). */
  store?: SessionStore;
  /** Default `https://api.nexmo.com`. `http:` is accepted only for loopback hosts (a local stand-in). */
  apiHost?: string;
  /** The Page IDs this application serves. When set, any other Page is refused (sends and webhooks). */
  pages?: readonly (PageId | string)[];
  /** The rules. Default {@link MESSENGER_POLICY}. */
  policy?: MessengerPolicy;
  /** Close windows this much early (clock skew). Default: the policy's (60 000 ms). */
  safetyMarginMs?: number;
  /** The clock every rule uses. Default `() => new Date()`. */
  now?: () => Date;
  /** Retries of 429 answers; `false` turns them off. */
  retry?: RetryOptions | false;
  /**
   * The per-Page client-side limiter (token bucket; shared through the store when it has
   * `takeToken`). Off unless set: `true` uses Meta's limits (300/s text, 10/s audio/video).
   */
  rateLimit?: RateLimitOptions | boolean;
  /**
   * When Vonage answers 1021 (invalid tag) to a HUMAN_AGENT send, stop allowing and offering
   * HUMAN_AGENT for that Page (stored, shown by `pageStatus`) until `markTagAvailable`. Default
   * true; false only reports the error.
   */
  learnTagRefusals?: boolean;
  /** Abort a send that has no answer after this long. Default 30 000 ms. */
  timeoutMs?: number;
  /**
   * What puts sends on the wire. `'http'` (default): `node:http`/`node:https` with a keep-alive
   * agent, the fastest. `'vonage-sdk'`: the official `@vonage/messages` client (global `fetch`).
   * Both send the same body and give the same results, retries and errors (docs/sending.md).
   */
  transport?: 'http' | 'vonage-sdk';
  /**
   * Webhook verification settings: `toleranceSeconds`, how far a token's `iat` may be from
   * now, either way (default 300); `maxBodyBytes`, the largest accepted body, a larger one is
   * answered 413 (default 1 MiB).
   */
  webhook?: { toleranceSeconds?: number; maxBodyBytes?: number };
}

/**
 * What a successful send resolves to.
 *
 * @example
 * ```ts
 * const { messageUuid, windowExpiresAt } = await messenger.sendText({ from, to, text: 'Hi' })
 * ```
 */
export interface SendResult {
  /** Vonage's id for the message; status webhooks carry it. */
  messageUuid: string;
  /** The category it was sent with (`message_tag` when a tag was given). */
  category: MessagingCategory;
  /** The tag it was sent with, if any. */
  tag?: string;
  /** The instant from which this kind of send to this user is refused. */
  windowExpiresAt: Date;
}

/**
 * Input of {@link Messenger.recordInbound}.
 *
 * @example
 * ```ts
 * await messenger.recordInbound({ from: '25381719828140932', to: '102290129340398', timestamp: new Date(row.sentAt), messageUuid: row.id })
 * ```
 */
export interface RecordInboundInput {
  /** The user who wrote. */
  from: PsidInput;
  /** The Page they wrote to. */
  to: PageIdInput;
  /** When they wrote. A time later than `now` is taken as `now`. */
  timestamp: Date;
  /** Vonage's `message_uuid`; a repeated one is a duplicate and changes nothing. */
  messageUuid: string;
}

/**
 * Input of {@link Messenger.recordAdReferral}.
 *
 * @example
 * ```ts
 * await messenger.recordAdReferral({ from: '25381719828140932', to: '102290129340398', timestamp: new Date(event.timestamp) })
 * ```
 */
export interface RecordAdReferralInput {
  /** The user who wrote from the ad. */
  from: PsidInput;
  /** The Page the ad led to. */
  to: PageIdInput;
  /** When the user's message from the ad was sent. A time later than `now` is taken as `now`. */
  timestamp: Date;
  /** That message's `message_uuid`, if known (recorded as the user's message when it is newer). */
  messageUuid?: string;
}

/**
 * A conversation as the store holds it, with `Date`s.
 *
 * @example
 * ```ts
 * const { state } = await messenger.recordInbound(input)
 * console.log(state.lastInboundAt.toISOString(), state.closedReason)
 * ```
 */
export interface ConversationSnapshot {
  /** The user's latest message: the window starts here. */
  lastInboundAt: Date;
  /** `message_uuid` of that message. */
  lastInboundUuid: string;
  /** The Page's latest send, if any (never extends the window). */
  lastOutboundAt?: Date;
  /** When the platform closed the conversation, if it did since the user last wrote. */
  closedAt?: Date;
  /** Why the platform closed it. */
  closedReason?: ClosedReason;
  /** The user's latest message that came from a Click-to-Messenger ad (`recordAdReferral`). */
  adReferralAt?: Date;
}

/**
 * Result of {@link Messenger.recordInbound}.
 *
 * @example
 * ```ts
 * const { duplicate } = await messenger.recordInbound(input)
 * if (duplicate) console.log('already imported')
 * ```
 */
export interface RecordInboundOutcome {
  /** True when this `messageUuid` was recorded before; nothing changed then. */
  duplicate: boolean;
  /** The conversation after the call. */
  state: ConversationSnapshot;
}

/**
 * A Page's link to Vonage as this SDK knows it. `state: 'unknown'` means nothing has been
 * recorded yet (no failure seen): sends are attempted, so `linked` is `true`.
 *
 * @example
 * ```ts
 * const status = await messenger.pageStatus('102290129340398')
 * if (!status.linked) console.log(`unlinked since ${status.since?.toISOString()} (Vonage ${status.errorCode})`)
 * ```
 */
export interface PageStatus {
  /** The Page asked about. */
  pageId: PageId;
  /** `unknown`: nothing recorded yet, so sends are attempted. */
  state: 'linked' | 'unlinked' | 'unknown';
  /** False only when the Page is known to be unlinked (sends fail fast). */
  linked: boolean;
  /** When the state last changed. */
  since?: Date;
  /** The Vonage error code that unlinked it (`"1370"`, `"1420"`). */
  errorCode?: string;
  /** Vonage's text for that error. */
  errorDetail?: string;
  /** Tags the platform refused for this Page (1021 to a HUMAN_AGENT send), until `markTagAvailable`. */
  unavailableTags: UnavailableTag[];
}

/**
 * A tag the platform refused for a Page.
 *
 * @example
 * ```ts
 * const { unavailableTags } = await messenger.pageStatus('102290129340398')
 * const refused: UnavailableTag | undefined = unavailableTags.find((t) => t.tag === 'HUMAN_AGENT')
 * ```
 */
export interface UnavailableTag {
  /** The tag, e.g. `HUMAN_AGENT`. */
  tag: string;
  /** When the platform refused it. */
  since: Date;
  /** The Vonage error code (`"1021"`). */
  errorCode?: string;
  /** Vonage's text for it. */
  errorDetail?: string;
}

/**
 * A listener for errors the platform reports about sends (status webhooks). Its exceptions
 * and rejections are ignored, so that a bug in it cannot fail the webhook.
 *
 * @example
 * ```ts
 * const off = messenger.onPlatformError((e) => { if (e.kind === 'page_unlinked') pageOps(e.message) })
 * ```
 */
export type PlatformErrorListener = (event: PlatformErrorEvent) => void | Promise<void>;

/**
 * The object returned by {@link createMessenger}.
 *
 * @example
 * ```ts
 * const messenger: Messenger = createMessenger({ applicationId, privateKey, signatureSecret })
 * await messenger.sendText({ from: page, to: user, text: 'Hello!' })
 * ```
 */
export interface Messenger {
  /** Sends text (1–640 characters). */
  sendText(input: SendTextInput): Promise<SendResult>;
  /** Sends an image by https URL (`.jpg`, `.jpeg`, `.png`, `.gif`). */
  sendImage(input: SendMediaInput): Promise<SendResult>;
  /** Sends audio by https URL (`.mp3`). */
  sendAudio(input: SendAudioInput): Promise<SendResult>;
  /** Sends a video by https URL (`.mp4`, H.264 + AAC). */
  sendVideo(input: SendMediaInput): Promise<SendResult>;
  /** Sends a file by https URL. */
  sendFile(input: SendMediaInput): Promise<SendResult>;
  /**
   * Would this send be allowed now? A window refusal is a decision, not an exception; an
   * unlinked Page throws `PageNotLinkedError`, bad input `ValidationError`.
   */
  canSend(input: CanSendInput): Promise<SendDecision>;
  /** Records a user's message (imports history); time only moves forward. */
  recordInbound(input: RecordInboundInput): Promise<RecordInboundOutcome>;
  /**
   * Records that the user's message at `timestamp` came from a Click-to-Messenger ad: `response`
   * and `update` stay allowed until `timestamp + 7 days − safetyMarginMs` (or the 24-hour
   * window, whichever ends later). Later messages do not move that end. Vonage's webhook does
   * not say which messages came from an ad: your app must know it (docs/rules.md).
   */
  recordAdReferral(input: RecordAdReferralInput): Promise<ConversationSnapshot>;
  /** The Page's link state. */
  pageStatus(pageId: PageIdInput): Promise<PageStatus>;
  /** Marks the Page linked again (after you re-linked it in the Dashboard). */
  markPageLinked(pageId: PageIdInput): Promise<void>;
  /** Allows and offers a tag again for the Page after a 1021 made it unavailable (default `HUMAN_AGENT`). */
  markTagAvailable(pageId: PageIdInput, tag?: string): Promise<void>;
  /** Subscribes to platform errors (Vonage 1340, 1370, 1021, …). Returns the unsubscribe function. */
  onPlatformError(listener: PlatformErrorListener): () => void;
  /** Verifies, parses and records one webhook request. */
  receive(input: ReceiveInput): Promise<ReceiveResult>;
  /** A Fetch handler `(Request) => Promise<Response>` for the inbound and status URLs. */
  webhookHandler(callbacks?: WebhookCallbacks): WebhookFetchHandler;
  /** Closes kept-alive connections, and the store if the messenger created it. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function isStore(value: unknown): value is SessionStore {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Record<string, unknown>;
  return [
    'get',
    'recordInbound',
    'recordOutbound',
    'markClosed',
    'getPage',
    'setPageLinked',
    'claim',
    'delete',
    'close',
  ].every((name) => typeof s[name] === 'function');
}

const positiveInt = (label: string) =>
  z
    .number({ error: `${label} must be a number` })
    .int(`${label} must be an integer`)
    .min(0, `${label} must not be negative`);

const OptionsSchema = z
  .strictObject({
    applicationId: z.string().min(1, 'applicationId must not be empty').optional(),
    privateKey: z
      .union([z.string(), z.instanceof(Buffer)], { error: 'privateKey must be PEM text, a Buffer or a file path' })
      .optional(),
    apiKey: z.string().min(1, 'apiKey must not be empty').optional(),
    apiSecret: z.string().min(1, 'apiSecret must not be empty').optional(),
    signatureSecret: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
        error: 'signatureSecret must be a non-empty string or a non-empty list of them',
      })
      .optional(),
    store: z
      .custom<SessionStore>(isStore, 'store must implement SessionStore (get, recordInbound, …, close)')
      .optional(),
    apiHost: z
      .string()
      .refine((value) => {
        if (!URL.canParse(value)) return false;
        const url = new URL(value);
        return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
      }, 'apiHost must be an https URL (http is accepted only for localhost / 127.0.0.1)')
      .optional(),
    pages: z
      .array(PageIdSchema)
      .min(1, 'pages must list at least one Page ID (leave it out to allow any Page)')
      .optional(),
    policy: z
      .custom<MessengerPolicy>(
        (v) => typeof v === 'object' && v !== null && typeof (v as MessengerPolicy).tags === 'object',
        'policy must be a MessengerPolicy (see definePolicy)',
      )
      .optional(),
    safetyMarginMs: positiveInt('safetyMarginMs').optional(),
    now: z.custom<() => Date>((v) => typeof v === 'function', 'now must be a function returning a Date').optional(),
    retry: z
      .union([
        z.literal(false),
        z.strictObject({
          retries: positiveInt('retry.retries').max(10, 'retry.retries must be at most 10').optional(),
          baseDelayMs: positiveInt('retry.baseDelayMs').optional(),
          maxDelayMs: positiveInt('retry.maxDelayMs').optional(),
        }),
      ])
      .optional(),
    rateLimit: z
      .union([
        z.boolean(),
        z.strictObject({
          perSecond: z.number().positive('rateLimit.perSecond must be positive').optional(),
          mediaPerSecond: z.number().positive('rateLimit.mediaPerSecond must be positive').optional(),
          burst: z.number().int().min(1, 'rateLimit.burst must be at least 1').optional(),
          maxWaitMs: positiveInt('rateLimit.maxWaitMs').optional(),
        }),
      ])
      .optional(),
    timeoutMs: z.number().int().positive('timeoutMs must be positive').optional(),
    learnTagRefusals: z.boolean({ error: 'learnTagRefusals must be a boolean' }).optional(),
    transport: z.enum(['http', 'vonage-sdk'], { error: "transport must be 'http' or 'vonage-sdk'" }).optional(),
    webhook: z
      .strictObject({
        toleranceSeconds: z.number().positive('webhook.toleranceSeconds must be positive').optional(),
        maxBodyBytes: z.number().int().positive('webhook.maxBodyBytes must be positive').optional(),
      })
      .optional(),
  })
  .superRefine((o, ctx) => {
    const jwt = o.applicationId !== undefined || o.privateKey !== undefined;
    if (jwt && (o.applicationId === undefined || o.privateKey === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [o.applicationId === undefined ? 'applicationId' : 'privateKey'],
        message: 'JWT auth needs both applicationId and privateKey',
      });
    }
    if (!jwt && (o.apiKey === undefined || o.apiSecret === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message:
          'credentials missing: pass applicationId + privateKey (JWT, recommended) or apiKey + apiSecret (Basic)',
      });
    }
  });

const RecordAdReferralSchema = z.strictObject({
  from: PsidSchema,
  to: PageIdSchema,
  timestamp: z.date({ error: 'timestamp must be a valid Date' }),
  messageUuid: z.string().min(1, 'messageUuid must not be empty').max(200, 'messageUuid is too long').optional(),
});

const RecordInboundSchema = z.strictObject({
  from: PsidSchema,
  to: PageIdSchema,
  timestamp: z.date({ error: 'timestamp must be a valid Date' }),
  messageUuid: z.string().min(1, 'messageUuid must not be empty').max(200, 'messageUuid is too long'),
});

/** Reads the key: PEM text (also with `\n` escapes from an env var), a Buffer, or a file path. Never echoes it. */
function loadPrivateKey(value: string | Buffer): string | Buffer {
  let key: string | Buffer = value;
  if (typeof value === 'string') {
    if (value.includes('-----BEGIN')) {
      key = value.includes('\n') ? value : value.replace(/\\n/g, '\n');
    } else {
      try {
        key = readFileSync(value);
      } catch {
        throw new ValidationError('privateKey is neither PEM text nor a readable file path', [
          { path: 'privateKey', message: 'not PEM text and not a readable file' },
        ]);
      }
    }
  }
  try {
    createPrivateKey(key);
  } catch {
    throw new ValidationError('privateKey is not a valid PEM private key', [
      { path: 'privateKey', message: 'not a valid PEM private key' },
    ]);
  }
  return key;
}

function snapshot(state: ConversationState): ConversationSnapshot {
  const out: ConversationSnapshot = {
    lastInboundAt: new Date(state.lastInboundAt),
    lastInboundUuid: state.lastInboundUuid,
  };
  if (state.lastOutboundAt !== undefined) out.lastOutboundAt = new Date(state.lastOutboundAt);
  if (state.closedAt !== undefined) out.closedAt = new Date(state.closedAt);
  if (state.closedReason !== undefined) out.closedReason = state.closedReason;
  if (state.adReferralAt !== undefined) out.adReferralAt = new Date(state.adReferralAt);
  return out;
}

/** The message of a `PageNotLinkedError`: what happened and exactly how to fix it. */
function pageNotLinkedMessage(pageId: string, page: PageState): string {
  const since = new Date(page.changedAt).toISOString();
  const cause = page.errorCode
    ? ` Vonage reported error ${page.errorCode}${page.errorDetail ? ` (${page.errorDetail})` : ''} at ${since}.`
    : ` It was marked unlinked at ${since}.`;
  return (
    `Facebook Page ${pageId} is not linked to Vonage, so nothing was sent.${cause}` +
    ' To fix it: Part 1 — in the Vonage Dashboard, open "Link Facebook Page", log in to Facebook and link this Page to your API key again;' +
    ' Part 2 — for each application that sends from this Page, open Applications → your application → "Linked social channels" and click "Link" next to the Page.' +
    ` Then call messenger.markPageLinked('${pageId}') (the next message a user sends to the Page also marks it linked). See docs/facebook-setup.md.`
  );
}

/**
 * Creates a messenger.
 *
 * @throws ValidationError when the options are unusable (credentials missing, bad key, bad host).
 *
 * @example
 * ```ts
 * import { createMessenger } from 'vonage-messenger'
 *
 * const messenger = createMessenger({
 *   applicationId: process.env.VONAGE_APPLICATION_ID!,
 *   privateKey: process.env.VONAGE_PRIVATE_KEY!,
 *   signatureSecret: process.env.VONAGE_SIGNATURE_SECRET!,
 *   pages: ['102290129340398'],
 * })
 * const { messageUuid } = await messenger.sendText({ from: '102290129340398', to: '25381719828140932', text: 'Hello!' })
 * ```
 */
export function createMessenger(options: MessengerOptions): Messenger {
  const parsed = OptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issues = toIssues(parsed.error);
    throw new ValidationError(
      `Invalid createMessenger options: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`,
      issues,
    );
  }
  const o = parsed.data;

  const userNow = o.now;
  const nowMs: () => number = userNow ? () => userNow().getTime() : Date.now;
  const ownsStore = o.store === undefined;
  // The default store expires conversations on the messenger's clock, so that moving `now` moves both.
  const store: SessionStore = o.store ?? memoryStore({ now: nowMs });
  const basePolicy = o.policy ?? MESSENGER_POLICY;
  const policy =
    o.safetyMarginMs === undefined ? basePolicy : definePolicy({ safetyMarginMs: o.safetyMarginMs }, basePolicy);
  const pages: ReadonlySet<string> | undefined = o.pages ? new Set<string>(o.pages) : undefined;

  const auth: AuthProvider =
    o.applicationId !== undefined && o.privateKey !== undefined
      ? jwtAuth({ applicationId: o.applicationId, privateKey: loadPrivateKey(o.privateKey) })
      : basicAuth(o.apiKey as string, o.apiSecret as string);
  // jwtAuth already refused a key that cannot sign RS256 (an EC key, RSA under 2048 bits);
  // signing the first token now turns any other signing failure into a ValidationError here,
  // not a confusing error on the first send.
  try {
    auth.header();
  } catch {
    throw new ValidationError(
      'privateKey cannot sign an RS256 JWT: Vonage needs the RSA private key (2048 bits or more) generated for the application',
      [{ path: 'privateKey', message: 'cannot sign an RS256 JWT' }],
    );
  }
  const transport: Transport = (o.transport === 'vonage-sdk' ? createVonageSdkTransport : createTransport)({
    apiHost: o.apiHost ?? DEFAULT_API_HOST,
    auth,
    ...(o.retry !== undefined ? { retry: o.retry } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
  });
  const limiter: Limiter | undefined =
    o.rateLimit === undefined || o.rateLimit === false
      ? undefined
      : createLimiter(o.rateLimit === true ? {} : o.rateLimit, { store });

  const listeners = new Set<PlatformErrorListener>();
  const emitPlatformError = (event: PlatformErrorEvent) => {
    for (const listener of listeners) {
      // A listener's failure must not fail the webhook that reported the error (Vonage would retry it).
      try {
        const result = listener(event);
        if (result && typeof (result as Promise<void>).catch === 'function') (result as Promise<void>).catch(() => {});
      } catch {
        /* ignored: see above */
      }
    }
  };

  let layer: WebhookLayer | undefined;
  const webhooks = () => {
    layer ??= createWebhookLayer({
      store,
      signatureSecret: o.signatureSecret,
      apiKey: o.apiKey,
      applicationId: o.applicationId,
      toleranceSeconds: o.webhook?.toleranceSeconds,
      maxBodyBytes: o.webhook?.maxBodyBytes,
      now: nowMs,
      pages,
      learnTagRefusals: o.learnTagRefusals,
      onPlatformError: emitPlatformError,
    });
    return layer;
  };

  const checkDeclared = (page: string, field: string) => {
    if (pages !== undefined && !pages.has(page)) {
      throw new ValidationError(
        `Page ${page} is not one of the pages this messenger serves (createMessenger({ pages })); refused before the store and the network.`,
        [{ path: field, message: `Page ${page} is not declared in pages` }],
      );
    }
  };

  /** Reads the Page link and the conversation in parallel; fails closed on a store error. */
  const readState = (page: PageId, user: Psid) => {
    const key = conversationKey(page, user);
    return Promise.all([callStore('getPage', () => store.getPage(page)), callStore('get', () => store.get(key))]);
  };

  const assertLinked = (page: PageId, state: PageState | null) => {
    if (state !== null && !state.linked) {
      throw new PageNotLinkedError(pageNotLinkedMessage(page, state), {
        pageId: page,
        since: new Date(state.changedAt),
        ...(state.errorCode !== undefined ? { errorCode: state.errorCode } : {}),
      });
    }
  };

  /** Tags the platform refused for the Page (none when the store cannot keep them). */
  const unavailableTagsOf = async (page: PageId): Promise<[string, TagAvailability][]> => {
    const read = store.getTagAvailability?.bind(store);
    if (read === undefined) return [];
    const tags = await callStore('getTagAvailability', () => read(page));
    return Object.entries(tags).filter(([, t]) => !t.available);
  };

  /**
   * The policy's verdict, with the Page's refused tags. Only a tagged send or a refusal (whose
   * alternatives name tags) depends on them, so the common allowed reply reads nothing more.
   */
  const decide = async (
    page: PageId,
    conversation: ConversationState | null,
    intent: { category?: MessagingCategory | undefined; tag?: string | undefined },
  ): Promise<SendDecision> => {
    const at = nowMs();
    const decision = evaluateSend(conversation, intent, at, policy);
    if (store.getTagAvailability === undefined || (decision.allowed && intent.tag === undefined)) return decision;
    const unavailable = (await unavailableTagsOf(page)).map(([tag]) => tag);
    return unavailable.length === 0
      ? decision
      : evaluateSend(conversation, intent, at, policy, { unavailableTags: unavailable });
  };

  /** Learns from a synchronous refusal what a status webhook would have taught (issue 7). */
  const learnFromApiError = async (
    error: VonageApiError,
    page: PageId,
    user: Psid,
    conversation: ConversationState | null,
    pageState: PageState | null,
  ) => {
    if (error.status !== 422) return;
    const title = error.title?.toLowerCase();
    const at = nowMs();
    try {
      // An invalid sender for a Page that worked before (a user wrote to it, or it was linked) means the link is gone.
      if (title === 'invalid sender' && (conversation !== null || pageState?.linked === true)) {
        await store.setPageLinked(page, false, at, {
          errorCode: '1420',
          errorDetail: error.detail ?? 'Invalid sender',
        });
      } else if (title === 'invalid recipient' && conversation !== null) {
        await store.markClosed(conversationKey(page, user), at, 'user_unavailable');
      }
    } catch {
      /* best effort: the caller gets the API error either way */
    }
  };

  async function send(
    messageType: MessengerMessageType,
    params: {
      from: PageId;
      to: Psid;
      tag?: string | undefined;
      category?: MessagingCategory | undefined;
      clientRef?: string | undefined;
      webhookUrl?: string | undefined;
    },
    content: string,
  ): Promise<SendResult> {
    const { from, to } = params;
    checkDeclared(from, 'from');
    const [pageState, conversation] = await readState(from, to);
    assertLinked(from, pageState);
    const decision = await decide(from, conversation, { category: params.category, tag: params.tag });
    if (!decision.allowed) {
      throw new WindowClosedError(decision.message, {
        reason: decision.reason,
        ...(decision.expiredAt ? { expiredAt: decision.expiredAt } : {}),
        alternatives: decision.alternatives,
      });
    }
    if (limiter !== undefined) await limiter.acquire(from, messageType);
    let messageUuid: string;
    try {
      ({ messageUuid } = await transport.send({
        messageType,
        from,
        to,
        content,
        category: decision.category,
        tag: decision.tag,
        clientRef: params.clientRef,
        webhookUrl: params.webhookUrl,
      }));
    } catch (error) {
      if (error instanceof VonageApiError) await learnFromApiError(error, from, to, conversation, pageState);
      throw error;
    }
    // The message is out: a failure to record it must not look like a failed send (a retry would duplicate it).
    // lastOutboundAt never affects the window, so losing it is harmless.
    try {
      await store.recordOutbound(conversationKey(from, to), nowMs());
      // Status webhooks do not repeat the tag: this mark lets a 1021 name HUMAN_AGENT (webhooks/receive.ts).
      if (decision.tag === 'HUMAN_AGENT')
        await store.claim(taggedSendClaimId(decision.tag, messageUuid), STATUS_DEDUPE_TTL_MS);
    } catch {
      /* see above */
    }
    const result: SendResult = { messageUuid, category: decision.category, windowExpiresAt: decision.expiresAt };
    if (decision.tag !== undefined) result.tag = decision.tag;
    return result;
  }

  const parsePage = (value: unknown, operation: string): PageId => {
    const result = PageIdSchema.safeParse(value);
    if (!result.success) {
      const issues = toIssues(result.error).map((i) => ({ ...i, path: i.path || 'pageId' }));
      throw new ValidationError(`Invalid ${operation} input: ${issues.map((i) => i.message).join('; ')}`, issues);
    }
    return result.data;
  };

  return {
    async sendText(input) {
      const p = parseInput(SendTextSchema, input, 'sendText');
      return send('text', p, p.text);
    },
    async sendImage(input) {
      const p = parseInput(SendImageSchema, input, 'sendImage');
      return send('image', p, p.url);
    },
    async sendAudio(input) {
      const p = parseInput(SendAudioSchema, input, 'sendAudio');
      return send('audio', p, p.url);
    },
    async sendVideo(input) {
      const p = parseInput(SendVideoSchema, input, 'sendVideo');
      return send('video', p, p.url);
    },
    async sendFile(input) {
      const p = parseInput(SendFileSchema, input, 'sendFile');
      return send('file', p, p.url);
    },

    async canSend(input) {
      const p = parseInput(CanSendSchema, input, 'canSend');
      checkDeclared(p.from, 'from');
      const [pageState, conversation] = await readState(p.from, p.to);
      assertLinked(p.from, pageState);
      return decide(p.from, conversation, { category: p.category, tag: p.tag });
    },

    async recordAdReferral(input) {
      const p = parseInput(RecordAdReferralSchema, input, 'recordAdReferral');
      checkDeclared(p.to, 'to');
      const record = store.recordAdReferral?.bind(store);
      if (record === undefined) {
        throw new ValidationError(
          'recordAdReferral needs a store with recordAdReferral (every store of this package has it)',
          [{ path: 'store', message: 'has no recordAdReferral' }],
        );
      }
      const key = conversationKey(p.to, p.from);
      const at = Math.min(p.timestamp.getTime(), nowMs());
      // The message from the ad is a user message: record it (a no-op when the webhook already
      // did), then its ad mark; both only move forward, so the order of the two is safe.
      const uuid = p.messageUuid ?? `ad-referral:${at}`;
      await callStore('recordInbound', () => store.recordInbound(key, at, uuid));
      await callStore('recordAdReferral', () => record(key, at));
      const state = await callStore('get', () => store.get(key));
      if (state === null) {
        throw new ValidationError('recordAdReferral: the message is older than the store keeps conversations (ttlMs)', [
          { path: 'timestamp', message: 'older than the store keeps conversations' },
        ]);
      }
      return snapshot(state);
    },

    async recordInbound(input) {
      const p = parseInput(RecordInboundSchema, input, 'recordInbound');
      checkDeclared(p.to, 'to');
      // "Never later than the time it was received": a future timestamp would stretch the window.
      const at = Math.min(p.timestamp.getTime(), nowMs());
      const [recorded, pageState] = await Promise.all([
        callStore('recordInbound', () => store.recordInbound(conversationKey(p.to, p.from), at, p.messageUuid)),
        callStore('getPage', () => store.getPage(p.to)),
      ]);
      // A user's message after the Page was unlinked proves the link works again.
      if (!recorded.duplicate && pageState !== null && !pageState.linked && at > pageState.changedAt) {
        await callStore('setPageLinked', () => store.setPageLinked(p.to, true, at));
      }
      return { duplicate: recorded.duplicate, state: snapshot(recorded.state) };
    },

    async pageStatus(value) {
      const page = parsePage(value, 'pageStatus');
      const [state, refused] = await Promise.all([
        callStore('getPage', () => store.getPage(page)),
        unavailableTagsOf(page),
      ]);
      const unavailableTags = refused.map(([tag, t]) => {
        const out: UnavailableTag = { tag, since: new Date(t.changedAt) };
        if (t.errorCode !== undefined) out.errorCode = t.errorCode;
        if (t.errorDetail !== undefined) out.errorDetail = t.errorDetail;
        return out;
      });
      if (state === null) return { pageId: page, state: 'unknown', linked: true, unavailableTags };
      const status: PageStatus = {
        pageId: page,
        state: state.linked ? 'linked' : 'unlinked',
        linked: state.linked,
        since: new Date(state.changedAt),
        unavailableTags,
      };
      if (state.errorCode !== undefined) status.errorCode = state.errorCode;
      if (state.errorDetail !== undefined) status.errorDetail = state.errorDetail;
      return status;
    },

    async markPageLinked(value) {
      const page = parsePage(value, 'markPageLinked');
      checkDeclared(page, 'pageId');
      await callStore('setPageLinked', () => store.setPageLinked(page, true, nowMs()));
    },

    async markTagAvailable(value, tag = 'HUMAN_AGENT') {
      const page = parsePage(value, 'markTagAvailable');
      checkDeclared(page, 'pageId');
      if (typeof tag !== 'string' || tag.length === 0) {
        throw new ValidationError('markTagAvailable: tag must be a non-empty string', [
          { path: 'tag', message: 'must be a non-empty string' },
        ]);
      }
      const set = store.setTagAvailability?.bind(store);
      if (set !== undefined) await callStore('setTagAvailability', () => set(page, tag, true, nowMs()));
    },

    onPlatformError(listener) {
      if (typeof listener !== 'function') {
        throw new ValidationError('onPlatformError needs a function', [
          { path: 'listener', message: 'not a function' },
        ]);
      }
      // Wrapped so that subscribing the same function twice gives two independent subscriptions.
      const entry: PlatformErrorListener = (event) => listener(event);
      listeners.add(entry);
      return () => {
        listeners.delete(entry);
      };
    },

    receive(input) {
      return webhooks().receive(input);
    },

    webhookHandler(callbacks) {
      return webhooks().webhookHandler(callbacks);
    },

    async close() {
      transport.close();
      if (ownsStore) await callStore('close', () => store.close());
    },
  };
}
