/**
 * What the sandbox knows about the platform side: when each user last wrote to each Page,
 * which Pages are linked, whether the app may use HUMAN_AGENT. It is the sandbox's own
 * state, fed only by `userSays`, never by the SDK's store: so it catches a send the client
 * guard let through because its state was wrong.
 *
 * The rules themselves are the SDK's policy data (`evaluateSend`), without the client's
 * safety margin: the platform closes the window at exactly 24 hours.
 *
 * @module
 */
import { definePolicy, evaluateSend, MESSENGER_POLICY, type MessengerPolicy } from '../../policy.js';
import type { ConversationState } from '../../store/types.js';
import { type MessagesErrorCode, messagesErrorDetail } from './codes.js';
import type { SandboxMessage } from './validate.js';

/**
 * The platform's verdict on an accepted message. `code` is Vonage's error code; `detail` its
 * text.
 */
export type Verdict = { delivered: true } | { delivered: false; code: MessagesErrorCode; detail: string };

/** Options of {@link createWorld}. */
export interface WorldOptions {
  /** Linked Pages. Unset: every Page is linked (until `unlinkPage`). */
  pages?: readonly string[];
  /** The rules; default {@link MESSENGER_POLICY} with no safety margin. */
  policy?: MessengerPolicy;
  /** Has Meta approved the app for HUMAN_AGENT? Default true; false answers 1021 to it. */
  humanAgent?: boolean;
}

/** The sandbox's platform state. */
export interface World {
  /** Records a user's message (the window only moves forward). */
  userWrote(pageId: string, psid: string, at: number, messageUuid: string): void;
  /** Judges a send at `now`, by the platform's rules and state. */
  judge(message: SandboxMessage, now: number): Verdict;
  unlinkPage(pageId: string): void;
  linkPage(pageId: string): void;
  isLinked(pageId: string): boolean;
  /** The conversation as the platform sees it. */
  conversation(pageId: string, psid: string): ConversationState | null;
}

const refuse = (code: MessagesErrorCode): Verdict => ({ delivered: false, code, detail: messagesErrorDetail(code) });

/** The platform state of one sandbox. */
export function createWorld(options: WorldOptions = {}): World {
  const policy = options.policy ?? definePolicy({ safetyMarginMs: 0 }, MESSENGER_POLICY);
  const humanAgent = options.humanAgent ?? true;
  const declared = options.pages ? new Set(options.pages) : undefined;
  const unlinked = new Set<string>();
  const conversations = new Map<string, ConversationState>();
  const key = (pageId: string, psid: string) => `${pageId}:${psid}`;

  return {
    userWrote(pageId, psid, at, messageUuid) {
      const k = key(pageId, psid);
      const old = conversations.get(k);
      if (old === undefined || at >= old.lastInboundAt) {
        conversations.set(k, { lastInboundAt: at, lastInboundUuid: messageUuid });
      }
    },
    judge(message, now) {
      if (declared !== undefined && !declared.has(message.from)) return refuse(1420);
      if (unlinked.has(message.from)) return refuse(1370);
      if (message.tag === 'HUMAN_AGENT' && !humanAgent) return refuse(1021);
      const state = conversations.get(key(message.from, message.to)) ?? null;
      const decision = evaluateSend(state, { category: message.category, tag: message.tag }, now, policy);
      if (decision.allowed) return { delivered: true };
      switch (decision.reason) {
        case 'no_conversation':
          return refuse(1430);
        case 'unknown_tag':
        case 'retired_tag':
          return refuse(1021);
        default:
          return refuse(1340);
      }
    },
    unlinkPage(pageId) {
      unlinked.add(pageId);
    },
    linkPage(pageId) {
      unlinked.delete(pageId);
      declared?.add(pageId);
    },
    isLinked(pageId) {
      return !unlinked.has(pageId) && (declared === undefined || declared.has(pageId));
    },
    conversation(pageId, psid) {
      const state = conversations.get(key(pageId, psid));
      return state === undefined ? null : { ...state };
    },
  };
}
