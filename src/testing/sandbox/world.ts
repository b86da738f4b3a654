/**
 * What the sandbox knows about the platform side: when each user last wrote to each Page
 * (and whether from an ad), which Pages are linked, whether HUMAN_AGENT is approved, and which
 * threads the platform has refused. It is the sandbox's own state, fed by `userSays` and the
 * sandbox's controls, never by the SDK's store; the rules are the sandbox's own too
 * (./rules.ts), so a wrong client rule or a wrong client state shows up as a refusal.
 *
 * @module
 */
import type { MessengerPolicy } from '../../policy.js';
import type { ClosedReason, ConversationState } from '../../store/types.js';
import { type MessagesErrorCode, messagesErrorDetail } from './codes.js';
import {
  PLATFORM_RULES,
  type PlatformRules,
  type PlatformThread,
  platformRulesFrom,
  platformVerdict,
} from './rules.js';
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
  /** The rules as SDK policy data (read as data only); default the sandbox's {@link PLATFORM_RULES}. */
  policy?: MessengerPolicy;
  /** Has Meta approved the app for HUMAN_AGENT? Default true; false answers 1021 to it. */
  humanAgent?: boolean;
}

/**
 * What a platform refusal of a thread means: 1340 (window) or 1430 (user unreachable).
 */
export type ThreadRefusal = 1340 | 1430;

/** The sandbox's platform state. */
export interface World {
  /** Records a user's message (the window only moves forward); `fromAd` marks a Click-to-Messenger ad. */
  userWrote(pageId: string, psid: string, at: number, messageUuid: string, fromAd?: boolean): void;
  /** Judges a send at `now`, by the platform's rules and state. */
  judge(message: Pick<SandboxMessage, 'from' | 'to' | 'category' | 'tag'>, now: number): Verdict;
  unlinkPage(pageId: string): void;
  linkPage(pageId: string): void;
  isLinked(pageId: string): boolean;
  /** Approves or withdraws HUMAN_AGENT for one Page (or, without `pageId`, the default for all). */
  setHumanAgent(approved: boolean, pageId?: string): void;
  /** The platform refuses the thread (1340 or 1430) from `at` until the user writes again. */
  refuseThread(pageId: string, psid: string, code: ThreadRefusal, at: number): void;
  /** The conversation as the platform sees it. */
  conversation(pageId: string, psid: string): ConversationState | null;
}

/**
 * The platform state of one sandbox.
 *
 * @example
 * ```ts
 * const world = createWorld({ pages: ['1029'] })
 * world.userWrote('1029', '2538', Date.now(), 'uuid-1')
 * world.judge({ from: '1029', to: '2538', category: 'response' }, Date.now())
 * ```
 */
export function createWorld(options: WorldOptions = {}): World {
  const rules: PlatformRules = options.policy ? platformRulesFrom(options.policy) : PLATFORM_RULES;
  let humanAgentDefault = options.humanAgent ?? true;
  const humanAgentByPage = new Map<string, boolean>();
  const declared = options.pages ? new Set(options.pages) : undefined;
  const unlinked = new Set<string>();
  const threads = new Map<string, PlatformThread & { uuid: string }>();
  const key = (pageId: string, psid: string) => `${pageId}:${psid}`;

  return {
    userWrote(pageId, psid, at, messageUuid, fromAd = false) {
      const k = key(pageId, psid);
      const old = threads.get(k);
      const thread = old ?? { userWroteAt: at, uuid: messageUuid };
      if (old !== undefined && at > old.userWroteAt) {
        old.userWroteAt = at;
        old.uuid = messageUuid;
      }
      if (fromAd && (thread.adMessageAt === undefined || at > thread.adMessageAt)) thread.adMessageAt = at;
      threads.set(k, thread);
    },
    judge(message, now) {
      const verdict = platformVerdict(
        rules,
        {
          declared: declared === undefined || declared.has(message.from),
          linked: !unlinked.has(message.from),
          humanAgentApproved: humanAgentByPage.get(message.from) ?? humanAgentDefault,
        },
        threads.get(key(message.from, message.to)),
        { category: message.category, tag: message.tag },
        now,
      );
      return verdict.delivered ? verdict : { ...verdict, detail: messagesErrorDetail(verdict.code) };
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
    setHumanAgent(approved, pageId) {
      if (pageId === undefined) {
        humanAgentDefault = approved;
        humanAgentByPage.clear();
      } else humanAgentByPage.set(pageId, approved);
    },
    refuseThread(pageId, psid, code, at) {
      const thread = threads.get(key(pageId, psid));
      if (thread === undefined) return;
      if (code === 1340) thread.windowRefusedAt = Math.max(thread.windowRefusedAt ?? at, at);
      else thread.unreachableAt = Math.max(thread.unreachableAt ?? at, at);
    },
    conversation(pageId, psid) {
      const thread = threads.get(key(pageId, psid));
      if (thread === undefined) return null;
      const state: ConversationState = { lastInboundAt: thread.userWroteAt, lastInboundUuid: thread.uuid };
      if (thread.adMessageAt !== undefined) state.adReferralAt = thread.adMessageAt;
      const refusals = [
        thread.windowRefusedAt === undefined ? undefined : { at: thread.windowRefusedAt, reason: 'closed_by_platform' },
        thread.unreachableAt === undefined ? undefined : { at: thread.unreachableAt, reason: 'user_unavailable' },
      ].filter((r) => r !== undefined && r.at >= thread.userWroteAt) as {
        at: number;
        reason: ClosedReason;
      }[];
      const latest = refusals.sort((a, b) => b.at - a.at)[0];
      if (latest !== undefined) {
        state.closedAt = latest.at;
        state.closedReason = latest.reason;
      }
      return state;
    },
  };
}
