/**
 * The send pipeline: `send` and `canSend`, and the five `sendX` as one table. Each step
 * refuses before the next: validate the input → the Page is declared → read the Page link and
 * the conversation (in parallel; a store failure refuses) → the Page is linked → the policy
 * allows it at `now` → the limiter has a token → POST → record the outbound. A refusal at any
 * step opens no socket.
 *
 * @module
 */
import type * as z from 'zod';
import { traceSend } from '../diagnostics.js';
import { WindowClosedError } from '../errors.js';
import { conversationKey, type PageId, type Psid } from '../ids.js';
import type { PageRules } from '../pages.js';
import { learnFromApiError } from '../platform-errors.js';
import { evaluateSend, type MessagingCategory, type MessengerPolicy, type SendDecision } from '../policy.js';
import { callStore } from '../store/guard.js';
import type { SessionStore } from '../store/types.js';
import type { Limiter } from './limiter.js';
import {
  type CanSendInput,
  CanSendSchema,
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

/** The five typed sends: each one schema, one message type, one content field. */
const SENDERS = {
  sendText: { schema: SendTextSchema, type: 'text', content: (p: { text: string }) => p.text },
  sendImage: { schema: SendImageSchema, type: 'image', content: (p: { url: string }) => p.url },
  sendAudio: { schema: SendAudioSchema, type: 'audio', content: (p: { url: string }) => p.url },
  sendVideo: { schema: SendVideoSchema, type: 'video', content: (p: { url: string }) => p.url },
  sendFile: { schema: SendFileSchema, type: 'file', content: (p: { url: string }) => p.url },
} as const;

/**
 * The typed sends and `canSend`, over one store, policy, limiter and transport.
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
   * round trip), else two in parallel. Fails closed on a store error.
   */
  const readForSend = store.readForSend?.bind(store);
  const readState = async (page: PageId, user: Psid) => {
    const key = conversationKey(page, user);
    if (readForSend !== undefined) {
      const { page: pageState, conversation } = await callStore('readForSend', () => readForSend(page, key));
      return [pageState, conversation] as const;
    }
    return Promise.all([callStore('getPage', () => store.getPage(page)), callStore('get', () => store.get(key))]);
  };

  async function sendUntraced(
    messageType: MessengerMessageType,
    params: SendParams,
    content: string,
  ): Promise<SendResult> {
    const { from, to } = params;
    pages.checkDeclared(from, 'from');
    const [pageState, conversation] = await readState(from, to);
    pages.assertLinked(from, pageState);
    const decision = evaluateSend(conversation, { category: params.category, tag: params.tag }, now(), policy);
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
      // What a synchronous refusal teaches, recorded as its status webhook would (one owner).
      await learnFromApiError(store, error, from, to, pageState, now());
      throw error;
    }
    // The message is out: a failure to record it must not look like a failed send (a retry
    // would duplicate it). lastOutboundAt never affects the window, so losing it is harmless.
    try {
      await store.recordOutbound(conversationKey(from, to), now());
    } catch {
      /* see above */
    }
    const result: SendResult = { messageUuid, category: decision.category, windowExpiresAt: decision.expiresAt };
    if (decision.tag !== undefined) result.tag = decision.tag;
    return result;
  }

  const send = (messageType: MessengerMessageType, params: SendParams, content: string): Promise<SendResult> =>
    traceSend(messageType, params, () => sendUntraced(messageType, params, content));

  const sender =
    <I, P extends SendParams>(name: keyof typeof SENDERS) =>
    async (input: I): Promise<SendResult> => {
      const spec = SENDERS[name];
      const p = parseInput(spec.schema as z.ZodType, input, name) as P;
      return send(spec.type, p, (spec.content as unknown as (p: P) => string)(p));
    };

  return {
    send,
    sendText: sender<SendTextInput, SendParams & { text: string }>('sendText'),
    sendImage: sender<SendMediaInput, SendParams & { url: string }>('sendImage'),
    sendAudio: sender<SendAudioInput, SendParams & { url: string }>('sendAudio'),
    sendVideo: sender<SendMediaInput, SendParams & { url: string }>('sendVideo'),
    sendFile: sender<SendMediaInput, SendParams & { url: string }>('sendFile'),

    async canSend(input: CanSendInput): Promise<SendDecision> {
      const p = parseInput(CanSendSchema, input, 'canSend');
      pages.checkDeclared(p.from, 'from');
      const [pageState, conversation] = await readState(p.from, p.to);
      pages.assertLinked(p.from, pageState);
      return evaluateSend(conversation, { category: p.category, tag: p.tag }, now(), policy);
    },
  };
}
