/**
 * "A Vonage error code → what the store records", once, for both paths that learn of one: a
 * `rejected`/`undeliverable` status webhook, and a synchronous 4xx answer to a send. The
 * table itself is data in `webhooks/platform.ts` (`EFFECT_BY_CODE`).
 *
 * @module
 */
import { VonageApiError } from './errors.js';
import { conversationKey, type PageId, type Psid } from './ids.js';
import { ingestStatusEffect } from './store/ingest.js';
import type { PageState, SessionStore, StatusEffect } from './store/types.js';
import type { StatusEvent } from './webhooks/events.js';
import {
  CODE_BY_API_TITLE,
  EFFECT_BY_CODE,
  type PlatformErrorAction,
  type PlatformErrorEvent,
  platformErrorKind,
  platformErrorMessage,
} from './webhooks/platform.js';

/**
 * The store write for `code`, or `undefined` when the code records nothing.
 */
export function statusEffectOf(code: string | undefined, detail: string): StatusEffect | undefined {
  if (code === undefined || !Object.hasOwn(EFFECT_BY_CODE, code)) return undefined;
  const rule = EFFECT_BY_CODE[code];
  if (rule === undefined) return undefined;
  if (rule.effect === 'close') return { kind: 'close', reason: rule.reason ?? 'closed_by_platform' };
  return { kind: 'unlink', ifLinked: rule.ifLinked === true, details: { errorCode: code, errorDetail: detail } };
}

/**
 * What the SDK did, given the effect and whether the store applied it.
 */
export function actionOf(effect: StatusEffect | undefined, applied: boolean): PlatformErrorAction {
  if (effect === undefined || !applied) return 'none';
  if (effect.kind === 'unlink') return 'page_unlinked';
  return effect.reason === 'closed_by_platform' ? 'conversation_closed' : 'user_unavailable';
}

/**
 * The Messages API code a synchronous refusal stands for (`undefined` for most answers).
 */
export function codeOfApiError(error: VonageApiError): string | undefined {
  if (error.status !== 422) return undefined;
  const title = error.title?.toLowerCase();
  return title !== undefined && Object.hasOwn(CODE_BY_API_TITLE, title) ? CODE_BY_API_TITLE[title] : undefined;
}

/**
 * Records what a synchronous refusal teaches, like its status webhook would. `page` is the
 * Page state read before the send (so `ifLinked` costs no second read). Best effort: the
 * caller gets the API error either way.
 */
export async function learnFromApiError(
  store: SessionStore,
  error: unknown,
  page: PageId,
  user: Psid,
  pageState: PageState | null,
  at: number,
): Promise<PlatformErrorAction> {
  if (!(error instanceof VonageApiError)) return 'none';
  const code = codeOfApiError(error);
  const effect = statusEffectOf(code, error.detail ?? error.title ?? '');
  if (effect === undefined) return 'none';
  if (effect.kind === 'unlink' && effect.ifLinked && pageState?.linked !== true) return 'none';
  try {
    const applied = await ingestStatusEffect(store, conversationKey(page, user), page, at, {
      ...effect,
      ...(effect.kind === 'unlink' ? { ifLinked: false } : {}),
    });
    return actionOf(effect, applied);
  } catch {
    return 'none';
  }
}

/**
 * The event `onPlatformError` listeners get for a failed status.
 */
export function platformErrorEvent(event: StatusEvent, action: PlatformErrorAction): PlatformErrorEvent {
  const code = event.error?.code;
  return {
    code,
    kind: platformErrorKind(code),
    action,
    message: platformErrorMessage(code, action, event.pageId),
    pageId: event.pageId,
    psid: event.psid,
    messageUuid: event.messageUuid,
    status: event.status,
    detail: event.error?.detail,
    clientRef: event.clientRef,
    timestamp: event.timestamp,
    event,
  };
}

/**
 * Calls every listener, ignoring what each throws or rejects: a listener's bug must not fail
 * the webhook that reported the error (Vonage would retry an event already recorded).
 */
export function safeNotifier<E>(listeners: () => Iterable<(event: E) => unknown>): (event: E) => void {
  return (event) => {
    for (const listener of listeners()) {
      try {
        const result: unknown = listener(event);
        if (result instanceof Promise) result.catch(() => {});
      } catch {
        // See above.
      }
    }
  };
}
