/**
 * The send pipeline: `send` and `canSend`, and the five `sendX` as one table. Each step
 * refuses before the next: validate the input → the Page is declared → read the Page link and
 * the conversation (in parallel; a store failure refuses) → the Page is linked → the policy
 * (and the Page's refused tags, read only when they can matter) allows it at `now` → the limiter has a token → POST → record the outbound. A refusal at any
 * step opens no socket. A HUMAN_AGENT send leaves the mark a later 1021 looks for.
 *
 * @module
 */
import type * as z from 'zod';
import { type SendTrace, traceSend } from '../diagnostics.js';
import { WindowClosedError } from '../errors.js';
import { type ConversationKey, conversationKey, type PageId, type Psid } from '../ids.js';
import type { PageRules } from '../pages.js';
import { learnFromApiError, markTaggedSend } from '../platform-errors.js';
import {
  evaluateSend,
  type MessagingCategory,
  type MessengerPolicy,
  type SendDecision,
  type SendWindow,
} from '../policy.js';
import { callStore } from '../store/guard.js';
import type { ConversationState, PageState, SessionStore } from '../store/types.js';
import { type ContentRule, fastSendParams } from './fast-input.js';
import type { Limiter } from './limiter.js';
import { readPageAndConversation } from './read-state.js';
import {
  type CanSendInput,
  CanSendSchema,
  MIN_AUDIO_URL_CHARS,
  parseInput,
  type SendAudioInput,
  SendAudioSchema,
  SendFileSchema,
  SendImageSchema,
  type SendMediaInput,
  type SendTextInput,
  SendTextSchema,
  SendVideoSchema,
} from './schemas.js';
import type { MessengerMessageType, Transport } from './transport.js';

/**
 * What a successful send resolves to.
 */
export interface SendResult {
  /** Vonage's id for the message; status webhooks carry it. */
  messageUuid: string;
  /** The category it was sent with (`message_tag` when a tag was given). */
  category: MessagingCategory;
  /** Which window allowed it (as `SendDecision.window`): `standard`, `ad_referral` or `tag`. */
  window: SendWindow;
  /** The tag it was sent with, if any. */
  tag?: string;
  /** The instant from which this kind of send to this user is refused. */
  windowExpiresAt: Date;
}

interface SendParams {
  from: PageId;
  to: Psid;
  tag?: string | undefined;
  category?: MessagingCategory | undefined;
  clientRef?: string | undefined;
  webhookUrl?: string | undefined;
}

/** The typed error of a refused decision. */
function windowClosed(decision: Extract<SendDecision, { allowed: false }>): WindowClosedError {
  return new WindowClosedError(decision.message, {
    reason: decision.reason,
    ...(decision.expiredAt ? { expiredAt: decision.expiredAt } : {}),
    alternatives: decision.alternatives,
  });
}

const TEXT: ContentRule = { field: 'text' };
const URL_RULE: ContentRule = { field: 'url', minLength: 1 };
const AUDIO_URL: ContentRule = { field: 'url', minLength: MIN_AUDIO_URL_CHARS };

/** The five typed sends: each one schema, one message type, one content field. */
const SENDERS = {
  sendText: { schema: SendTextSchema, type: 'text', content: TEXT },
  sendImage: { schema: SendImageSchema, type: 'image', content: URL_RULE },
  sendAudio: { schema: SendAudioSchema, type: 'audio', content: AUDIO_URL },
  sendVideo: { schema: SendVideoSchema, type: 'video', content: URL_RULE },
  sendFile: { schema: SendFileSchema, type: 'file', content: URL_RULE },
} as const satisfies Record<string, { schema: unknown; type: MessengerMessageType; content: ContentRule }>;

/**
 * The typed sends and `canSend`, over one store, policy, limiter and transport.
 *
 * @example
 * ```ts
 * declare const deps: Parameters<typeof createSendPipeline>[0] // createMessenger builds them
 * const { sendText } = createSendPipeline(deps)
 * ```
 */
export function createSendPipeline(deps: {
  store: SessionStore;
  policy: MessengerPolicy;
  limiter: Limiter | undefined;
  transport: Transport;
  now: () => number;
  pages: PageRules;
}) {
  const { store, policy, limiter, transport, now, pages } = deps;

  /**
   * Reads the Page link and the conversation: one call on a store with `readForSend` (one
   * round trip), else two started together ({@link readPageAndConversation}). Fails closed on
   * a store error.
   */
  const readForSend = store.readForSend?.bind(store);
  const readState = (
    page: PageId,
    key: ConversationKey,
  ): Promise<readonly [PageState | null, ConversationState | null]> => {
    if (readForSend === undefined) return readPageAndConversation(store, page, key);
    return callStore('readForSend', () => readForSend(page, key)).then(
      ({ page: pageState, conversation }) => [pageState, conversation] as const,
    );
  };

  /**
   * The policy's verdict, with the Page's refused tags. Only a tagged send or a refusal (whose
   * alternatives name tags) depends on them, so the common allowed reply reads nothing more,
   * and gets its verdict without a promise.
   */
  const decide = (
    page: PageId,
    conversation: ConversationState | null,
    intent: { category?: MessagingCategory | undefined; tag?: string | undefined },
  ): SendDecision | Promise<SendDecision> => {
    const at = now();
    const decision = evaluateSend(conversation, intent, at, policy);
    if (!pages.keepsTags || (decision.allowed && intent.tag === undefined)) return decision;
    return pages
      .unavailableTags(page)
      .then((unavailable) =>
        unavailable.length === 0
          ? decision
          : evaluateSend(conversation, intent, at, policy, { unavailableTags: unavailable }),
      );
  };

  async function sendUntraced(
    messageType: MessengerMessageType,
    params: SendParams,
    content: string,
    trace: SendTrace | undefined,
  ): Promise<SendResult> {
    const { from, to } = params;
    pages.checkDeclared(from, 'from');
    // One key for the read and the write: a store that hashes it does so once.
    const key = conversationKey(from, to);
    const [pageState, conversation] = await readState(from, key);
    pages.assertLinked(from, pageState);
    const intent = { category: params.category, tag: params.tag };
    const decided = decide(from, conversation, intent);
    const first = decided instanceof Promise ? await decided : decided;
    if (!first.allowed) throw windowClosed(first);
    let decision = first;
    // Judged and allowed: a later failure (the limiter, Vonage, the network) still shows why it went ahead.
    if (trace !== undefined) trace.decision = decision;
    // A wait (for a token, or after a 429) can outlast the window: past its end, the send is
    // judged again before the POST, on the state read afresh (the user may have written since).
    const rejudge = async (): Promise<void> => {
      const [page, current] = await readState(from, key);
      pages.assertLinked(from, page);
      const late = decide(from, current, intent);
      const judged = late instanceof Promise ? await late : late;
      if (!judged.allowed) throw windowClosed(judged);
      decision = judged; // the window the send now goes in (its end is what the result reports)
      if (trace !== undefined) trace.decision = judged;
    };
    const stillOpen = (): Promise<void> | undefined => (now() < decision.expiresAt.getTime() ? undefined : rejudge());
    if (limiter !== undefined) {
      await limiter.acquire(from, messageType);
      await stillOpen();
    }
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
        beforeRetry: stillOpen,
      }));
    } catch (error) {
      // What a synchronous refusal teaches, recorded as its status webhook would (one owner).
      await learnFromApiError(store, error, from, to, pageState, now());
      throw error;
    }
    // The message is out: a failure to record it must not look like a failed send (a retry
    // would duplicate it). lastOutboundAt never affects the window, so losing it is harmless.
    try {
      await store.recordOutbound(key, now());
      if (decision.tag !== undefined) await markTaggedSend(store, decision.tag, messageUuid);
    } catch {
      /* see above */
    }
    const result: SendResult = {
      messageUuid,
      category: decision.category,
      window: decision.window,
      windowExpiresAt: decision.expiresAt,
    };
    if (decision.tag !== undefined) result.tag = decision.tag;
    return result;
  }

  const send = (messageType: MessengerMessageType, params: SendParams, content: string): Promise<SendResult> =>
    traceSend(messageType, params, (trace) => sendUntraced(messageType, params, content, trace));

  // Not async: the pipeline's own promise is returned as it is, without the extra hops of an
  // async function resolving to a promise. A refused input still rejects, never throws.
  const sender =
    <I>(name: keyof typeof SENDERS) =>
    (input: I): Promise<SendResult> => {
      const { schema, type, content } = SENDERS[name];
      let p: SendParams & Record<ContentRule['field'], string>;
      try {
        // The common input in a fraction of a microsecond; anything else through the schema.
        p = (fastSendParams(input, content) ?? parseInput(schema as z.ZodType, input, name)) as SendParams &
          Record<ContentRule['field'], string>;
      } catch (error) {
        return Promise.reject(error);
      }
      return send(type, p, p[content.field]);
    };

  return {
    send,
    sendText: sender<SendTextInput>('sendText'),
    sendImage: sender<SendMediaInput>('sendImage'),
    sendAudio: sender<SendAudioInput>('sendAudio'),
    sendVideo: sender<SendMediaInput>('sendVideo'),
    sendFile: sender<SendMediaInput>('sendFile'),

    async canSend(input: CanSendInput): Promise<SendDecision> {
      const p = parseInput(CanSendSchema, input, 'canSend');
      pages.checkDeclared(p.from, 'from');
      const [pageState, conversation] = await readState(p.from, conversationKey(p.from, p.to));
      pages.assertLinked(p.from, pageState);
      return await decide(p.from, conversation, { category: p.category, tag: p.tag });
    },
  };
}
