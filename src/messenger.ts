/**
 * `createMessenger(options)`: the one object most users touch, and its public types. This
 * module is wiring: options (options.ts) → store, policy, auth, transport, limiter → the send
 * pipeline (send/pipeline.ts), the Page rules (pages.ts) and the webhook layer (webhooks/).
 *
 * @module
 */

import * as z from 'zod';
import { ValidationError } from './errors.js';
import { conversationKey, type PageId, PageIdSchema, PsidSchema } from './ids.js';
import { lazySchema } from './lazy-schema.js';
import { checkClock, loadPrivateKey, parseMessengerOptions } from './options.js';
import { createPageRules, type PageStatus } from './pages.js';
import { safeNotifier } from './platform-errors.js';
import { definePolicy, MESSENGER_POLICY, type MessengerPolicy, type SendDecision } from './policy.js';
import { type AuthProvider, basicAuth, jwtAuth } from './send/auth.js';
import { createLimiter, type RateLimitOptions } from './send/limiter.js';
import { createSendPipeline, type SendResult } from './send/pipeline.js';
import {
  type CanSendInput,
  type PageIdInput,
  type PsidInput,
  parseInput,
  type SendAudioInput,
  type SendMediaInput,
  type SendTextInput,
  toIssues,
} from './send/schemas.js';
import type { RetryOptions, Transport } from './send/transport.js';
import { DEFAULT_TRANSPORT, transportFor } from './send/transports.js';
import { messengerStore } from './store/checked.js';
import { callStore } from './store/guard.js';
import { memoryStore } from './store/memory.js';
import type { ClosedReason, ConversationState, SessionStore } from './store/types.js';
import {
  createWebhookLayer,
  type PlatformErrorEvent,
  type ReceiveInput,
  type ReceiveResult,
  type WebhookCallbacks,
  type WebhookFetchHandler,
  type WebhookLayer,
} from './webhooks/index.js';
import {
  createWindows,
  type ExpiringSoonInput,
  type ExpiringSoonResult,
  type WatchWindowsInput,
  type WindowWatcher,
} from './windows.js';

export type { PageStatus, UnavailableTag } from './pages.js';
export type { RateLimitOptions } from './send/limiter.js';
export type { SendResult } from './send/pipeline.js';
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
export {
  type ClosingConversation,
  type ExpiringSoonInput,
  type ExpiringSoonResult,
  MAX_EXPIRING_SOON_LIMIT,
  type WatchWindowsInput,
  type WindowWatcher,
} from './windows.js';

/**
 * Vonage's production host, the default `apiHost`. Regional and sandbox hosts: docs/sending.md.
 */
export const DEFAULT_API_HOST = 'https://api.nexmo.com';

export { MAX_CLIENT_REF_CHARS, MAX_TEXT_CHARS } from './send/schemas.js';

/**
 * Options of {@link createMessenger}. Either `applicationId` + `privateKey` (JWT) or `apiKey` + `apiSecret` (Basic).
 */
export interface MessengerOptions {
  /** The Vonage application's ID (JWT auth, recommended). */
  applicationId?: string | undefined;
  /**
   * The application's private key: PEM text, bytes (a Buffer), or a path to the `.key` file
   * (not in Workers, which have no file system: pass the PEM text from a secret).
   */
  privateKey?: string | Uint8Array | undefined;
  /** The account's API key (Basic auth; also checked against signed webhooks' `api_key`). */
  apiKey?: string | undefined;
  /** The account's API secret (Basic auth). */
  apiSecret?: string | undefined;
  /** The signature secret that signs webhooks; several while you rotate it. */
  signatureSecret?: string | readonly string[] | undefined;
  /** Where windows, Page links and claims live. Default: a new `memoryStore()` (closed by `close()`). */
  store?: SessionStore | undefined;
  /** Default `https://api.nexmo.com`. `http:` is accepted only for loopback hosts (a local stand-in). */
  apiHost?: string | undefined;
  /** The Page IDs this application serves. When set, any other Page is refused (sends and webhooks). */
  pages?: readonly (PageId | string)[] | undefined;
  /** The rules. Default {@link MESSENGER_POLICY}. */
  policy?: MessengerPolicy | undefined;
  /** Close windows this much early (clock skew). Default: the policy's (60 000 ms). */
  safetyMarginMs?: number | undefined;
  /** The clock every rule uses. Default `() => new Date()`. */
  now?: (() => Date) | undefined;
  /** Retries of 429 answers; `false` turns them off. */
  retry?: RetryOptions | false | undefined;
  /**
   * The per-Page client-side limiter (token bucket; shared through the store when it has
   * `takeToken`). Off unless set: `true` uses Meta's limits (300/s text, 10/s audio/video).
   */
  rateLimit?: RateLimitOptions | boolean | undefined;
  /**
   * When Vonage answers 1021 (invalid tag) to a HUMAN_AGENT send, stop allowing and offering
   * HUMAN_AGENT for that Page (stored, shown by `pageStatus`) until `markTagAvailable`. Default
   * true; false only reports the error.
   */
  learnTagRefusals?: boolean | undefined;
  /** Abort a send that has no answer after this long. Default 30 000 ms. */
  timeoutMs?: number | undefined;
  /**
   * What puts sends on the wire. `'http'` (the default on Node, Bun and Deno):
   * `node:http`/`node:https` with a keep-alive agent, the fastest. `'fetch'` (the default
   * where `node:http` is absent: the Workers build): the global `fetch`. `'vonage-sdk'`: the
   * official `@vonage/messages` client (Node only). All send the same body and give the same
   * results, retries and errors (docs/sending.md, docs/deploy.md).
   */
  transport?: 'http' | 'fetch' | 'vonage-sdk' | undefined;
  /**
   * Webhook settings: `toleranceSeconds`, how far a token's `iat` may be from now, either way
   * (default 300, at most 86 400); `maxBodyBytes`, the largest accepted body, a larger one is
   * answered 413 (default 1 MiB); `deliveryLeaseMs`, how long one callback holds an event
   * across the fleet (default 60 000; copies meanwhile get 503 + Retry-After);
   * `callbackTimeoutMs`, answer 503 when a callback runs longer (default: wait). See
   * docs/webhooks.md "Duplicates, failures and redelivery".
   */
  webhook?:
    | {
        toleranceSeconds?: number | undefined;
        maxBodyBytes?: number | undefined;
        deliveryLeaseMs?: number | undefined;
        callbackTimeoutMs?: number | undefined;
      }
    | undefined;
}

/**
 * Input of {@link Messenger.recordInbound}.
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
 */
export interface RecordAdReferralInput {
  /** The user who wrote from the ad. */
  from: PsidInput;
  /** The Page the ad led to. */
  to: PageIdInput;
  /** When the user's message from the ad was sent. A time later than `now` is taken as `now`. */
  timestamp: Date;
  /** That message's `message_uuid`, if known (recorded as the user's message when it is newer). */
  messageUuid?: string | undefined;
}

/**
 * A conversation as the store holds it, with `Date`s.
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
 */
export interface RecordInboundOutcome {
  /** True when this `messageUuid` was recorded before; nothing changed then. */
  duplicate: boolean;
  /** The conversation after the call. */
  state: ConversationSnapshot;
}

/**
 * A listener for errors the platform reports about sends (status webhooks). Its exceptions
 * and rejections are ignored, so that a bug in it cannot fail the webhook.
 */
export type PlatformErrorListener = (event: PlatformErrorEvent) => void | Promise<void>;

/**
 * The object returned by {@link createMessenger}.
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
  /**
   * The open conversations whose window (`standard`, `human_agent`) closes after now and at
   * most `within` ms from now, earliest first, a page at a time (`cursor`). Conversations the
   * platform closed are excluded. Needs a store with `listByLastInbound` (every store of this
   * package; otherwise `StoreCapabilityError`). See docs/rules.md, "Answer in time".
   */
  expiringSoon(input: ExpiringSoonInput): Promise<ExpiringSoonResult>;
  /**
   * Polls `expiringSoon({ within: before })` every `every` ms and calls `onClosing` once per
   * conversation and window end across every process sharing the store (a store claim each).
   */
  watchWindows(input: WatchWindowsInput): WindowWatcher;
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
  /** Stops running `watchWindows`, closes kept-alive connections, and the store if the messenger created it. */
  close(): Promise<void>;
}

const RecordAdReferralSchema = lazySchema(() =>
  z.strictObject({
    from: PsidSchema,
    to: PageIdSchema,
    timestamp: z.date({ error: 'timestamp must be a valid Date' }),
    messageUuid: z.string().min(1, 'messageUuid must not be empty').max(200, 'messageUuid is too long').optional(),
  }),
);

const RecordInboundSchema = lazySchema(() =>
  z.strictObject({
    from: PsidSchema,
    to: PageIdSchema,
    timestamp: z.date({ error: 'timestamp must be a valid Date' }),
    messageUuid: z.string().min(1, 'messageUuid must not be empty').max(200, 'messageUuid is too long'),
  }),
);

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

const parsePage = (value: unknown, operation: string): PageId => {
  const result = PageIdSchema.safeParse(value);
  if (!result.success) {
    const issues = toIssues(result.error).map((i) => ({ ...i, path: i.path || 'pageId' }));
    throw new ValidationError(`Invalid ${operation} input: ${issues.map((i) => i.message).join('; ')}`, issues);
  }
  return result.data;
};

/**
 * Creates a messenger.
 *
 * @throws ValidationError when the options are unusable (credentials missing, bad key, bad host).
 *
 * @example
 * ```ts
 * const messenger = createMessenger({ applicationId, privateKey, signatureSecret, pages: ['102290129340398'] })
 * const { messageUuid } = await messenger.sendText({ from: '102290129340398', to: '25381719828140932', text: 'Hello!' })
 * ```
 */
export function createMessenger(options: MessengerOptions): Messenger {
  const o = parseMessengerOptions(options);
  const userNow = o.now;
  if (userNow !== undefined) checkClock(userNow);
  const nowMs: () => number = userNow ? () => userNow().getTime() : Date.now;
  const ownsStore = o.store === undefined;
  // The default store expires conversations on the messenger's clock, so that moving `now` moves both.
  const store: SessionStore = messengerStore(o.store ?? memoryStore({ now: nowMs }));
  const basePolicy = o.policy ?? MESSENGER_POLICY;
  const policy =
    o.safetyMarginMs === undefined ? basePolicy : definePolicy({ safetyMarginMs: o.safetyMarginMs }, basePolicy);
  const pages = createPageRules({ store, pages: o.pages ? new Set<string>(o.pages) : undefined, now: nowMs });

  const auth: AuthProvider =
    o.applicationId !== undefined && o.privateKey !== undefined
      ? jwtAuth({ applicationId: o.applicationId, privateKey: loadPrivateKey(o.privateKey) })
      : basicAuth(o.apiKey as string, o.apiSecret as string);
  // jwtAuth already refused a key that cannot sign RS256 (an EC key, RSA under 2048 bits);
  // signing the first token now turns any other signing failure into a ValidationError here,
  // not a confusing error on the first send. Where signing is asynchronous (Web Crypto) it
  // starts now, and a key it refuses fails the first send with the same ValidationError.
  try {
    const first = auth.header();
    if (typeof first !== 'string') first.catch(() => {});
  } catch {
    throw new ValidationError(
      'privateKey cannot sign an RS256 JWT: Vonage needs the RSA private key (2048 bits or more) generated for the application',
      [{ path: 'privateKey', message: 'cannot sign an RS256 JWT' }],
    );
  }
  const transport: Transport = transportFor(o.transport ?? DEFAULT_TRANSPORT)({
    apiHost: o.apiHost ?? DEFAULT_API_HOST,
    auth,
    ...(o.retry !== undefined ? { retry: o.retry } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
  });
  const limiter =
    o.rateLimit === undefined || o.rateLimit === false
      ? undefined
      : createLimiter(o.rateLimit === true ? {} : o.rateLimit, { store });
  const sends = createSendPipeline({ store, policy, limiter, transport, now: nowMs, pages });
  const windows = createWindows({ store, policy, pages, now: nowMs });

  const listeners = new Set<PlatformErrorListener>();
  let layer: WebhookLayer | undefined;
  const webhooks = () => {
    layer ??= createWebhookLayer({
      store,
      signatureSecret: o.signatureSecret,
      apiKey: o.apiKey,
      applicationId: o.applicationId,
      toleranceSeconds: o.webhook?.toleranceSeconds,
      maxBodyBytes: o.webhook?.maxBodyBytes,
      deliveryLeaseMs: o.webhook?.deliveryLeaseMs,
      callbackTimeoutMs: o.webhook?.callbackTimeoutMs,
      now: nowMs,
      pages: o.pages ? new Set<string>(o.pages) : undefined,
      learnTagRefusals: o.learnTagRefusals,
      onPlatformError: safeNotifier<PlatformErrorEvent>(() => listeners),
    });
    return layer;
  };

  return {
    sendText: sends.sendText,
    sendImage: sends.sendImage,
    sendAudio: sends.sendAudio,
    sendVideo: sends.sendVideo,
    sendFile: sends.sendFile,
    canSend: sends.canSend,

    async recordAdReferral(input) {
      const p = parseInput(RecordAdReferralSchema, input, 'recordAdReferral');
      pages.checkDeclared(p.to, 'to');
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
      pages.checkDeclared(p.to, 'to');
      // "Never later than the time it was received": a future timestamp would stretch the window.
      const at = Math.min(p.timestamp.getTime(), nowMs());
      const [recorded, pageState] = await Promise.all([
        callStore('recordInbound', () => store.recordInbound(conversationKey(p.to, p.from), at, p.messageUuid)),
        callStore('getPage', () => store.getPage(p.to)),
      ]);
      // The same rule as a webhook's: a user's message proves the link works.
      await pages.relinkOnInbound(p.to, pageState, at);
      return { duplicate: recorded.duplicate, state: snapshot(recorded.state) };
    },

    expiringSoon: windows.expiringSoon,
    watchWindows: windows.watchWindows,

    pageStatus: async (value) => pages.pageStatus(parsePage(value, 'pageStatus')),
    markPageLinked: async (value) => pages.markPageLinked(parsePage(value, 'markPageLinked')),

    markTagAvailable: async (value, tag) => pages.markTagAvailable(parsePage(value, 'markTagAvailable'), tag),

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

    receive: (input) => webhooks().receive(input),
    webhookHandler: (callbacks) => webhooks().webhookHandler(callbacks),

    async close() {
      // Watchers first: a poll in progress still needs the store.
      await windows.stopAll();
      transport.close();
      if (ownsStore) await callStore('close', () => store.close());
    },
  };
}
