/**
 * "A Vonage error code → what the store records", once, for both paths that learn of one: a
 * `rejected`/`undeliverable` status webhook, and a synchronous 4xx answer to a send. The
 * table itself is data in `webhooks/platform.ts` (`PLATFORM_ERRORS`, one row per code). A
 * 1021 names no tag, so a HUMAN_AGENT send leaves a mark ({@link markTaggedSend}) that the
 * status webhook looks for ({@link learnTagRefusal}): both halves of that rule live here.
 *
 * @module
 */
import { VonageApiError } from './errors.js';
import { conversationKey, type PageId, type Psid } from './ids.js';
import { callStore } from './store/guard.js';
import { ingestStatusEffect, unlinkApplies } from './store/ingest.js';
import type { PageState, SessionStore, StatusEffect } from './store/types.js';
import type { StatusEvent } from './webhooks/events.js';
import {
  CODE_BY_API_TITLE,
  type PlatformErrorAction,
  type PlatformErrorEvent,
  platformErrorKind,
  platformErrorMessage,
  platformErrorRow,
  taggedSendClaimId,
} from './webhooks/platform.js';

/** How long a status event is remembered for dedupe: Vonage retries for 24 h; twice that. */
export const STATUS_DEDUPE_TTL_MS = 48 * 60 * 60 * 1000;

/** The one tag still in use, and so the one a 1021 can make unavailable. */
const HUMAN_AGENT = 'HUMAN_AGENT';

/**
 * The store write for `code`, or `undefined` when the code records nothing.
 */
export function statusEffectOf(code: string | undefined, detail: string): StatusEffect | undefined {
  switch (platformErrorRow(code)?.effect) {
    case 'close_conversation':
      return { kind: 'close', reason: 'closed_by_platform' };
    case 'user_unavailable':
      return { kind: 'close', reason: 'user_unavailable' };
    case 'unlink_page':
    case 'unlink_known_page':
      return {
        kind: 'unlink',
        ifLinked: platformErrorRow(code)?.effect === 'unlink_known_page',
        details: { errorCode: code, errorDetail: detail },
      };
    default:
      // 'tag_unavailable' is learnTagRefusal's (it needs the send's mark); 'none' records nothing.
      return undefined;
  }
}

/**
 * Leaves the mark by which a later 1021 is known to answer a HUMAN_AGENT send (status
 * webhooks do not repeat the tag). Other tags leave none: Meta retired them.
 *
 * @example
 * ```ts
 * await markTaggedSend(store, 'HUMAN_AGENT', messageUuid)
 * ```
 */
export async function markTaggedSend(store: SessionStore, tag: string | undefined, messageUuid: string): Promise<void> {
  if (tag === HUMAN_AGENT) await store.claim(taggedSendClaimId(tag, messageUuid), STATUS_DEDUPE_TTL_MS);
}

/**
 * For a failed status whose code's row says `tag_unavailable` (1021): when it answered a
 * HUMAN_AGENT send ({@link markTaggedSend}), marks HUMAN_AGENT unavailable for the Page and
 * returns true. The probe claims the mark, so it runs once per status event; a retried webhook
 * finds its own claim and answers from the stored tag state.
 *
 * @example
 * ```ts
 * messenger.webhookHandler({
 *   onStatus: async (status) => {
 *     if (await learnTagRefusal(store, status, Date.now())) console.log('HUMAN_AGENT refused for', status.pageId)
 *   },
 * })
 * ```
 */
export async function learnTagRefusal(store: SessionStore, event: StatusEvent, at: number): Promise<boolean> {
  const set = store.setTagAvailability?.bind(store);
  if (platformErrorRow(event.error?.code)?.effect !== 'tag_unavailable' || set === undefined) return false;
  const firstLook = await callStore('claim', () =>
    store.claim(`{${event.pageId}}:tag-refusal:${event.messageUuid}:${event.status}`, STATUS_DEDUPE_TTL_MS),
  );
  if (!firstLook) {
    const tags = await callStore(
      'getTagAvailability',
      async () => (await store.getTagAvailability?.(event.pageId)) ?? {},
    );
    return Object.hasOwn(tags, HUMAN_AGENT) && tags[HUMAN_AGENT]?.available === false;
  }
  // A claim that fails finds the send's mark: the refused message was a HUMAN_AGENT send.
  const unmarked = await callStore('claim', () =>
    store.claim(taggedSendClaimId(HUMAN_AGENT, event.messageUuid), STATUS_DEDUPE_TTL_MS),
  );
  if (unmarked) return false;
  const details = { errorCode: event.error?.code ?? '', errorDetail: event.error?.detail ?? event.error?.title ?? '' };
  await callStore('setTagAvailability', () => set(event.pageId, HUMAN_AGENT, false, at, details));
  return true;
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
 *
 * @example
 * ```ts
 * if (err instanceof VonageApiError) codeOfApiError(err) // '1420' for a 422 "Invalid sender"
 * ```
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
 *
 * @example
 * ```ts
 * await learnFromApiError(store, err, page, user, await store.getPage(page), Date.now())
 * ```
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
  if (effect.kind === 'unlink' && !unlinkApplies(effect, pageState)) return 'none';
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
 *
 * @example
 * ```ts
 * messenger.webhookHandler({ onStatus: (status) => console.log(platformErrorEvent(status, 'none').message) })
 * ```
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
 *
 * @example
 * ```ts
 * const listeners = new Set<(event: string) => void>([(e) => console.log(e)])
 * const notify = safeNotifier(() => listeners)
 * notify('a listener that throws cannot fail the caller')
 * ```
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
