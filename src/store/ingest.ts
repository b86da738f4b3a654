/**
 * `ingestWith(store, input)`: what one verified webhook writes, through
 * {@link SessionStore.ingest} when the store has it (one round trip), else through the other
 * operations in the same order. Every write is atomic and idempotent on its own, so the
 * composed path is as safe under concurrency as the single call, only slower.
 *
 * @module
 */

import type { ConversationKey, PageId } from '../ids.js';
import { callStore } from './guard.js';
import type { IngestInput, IngestResult, PageState, RecordInboundResult, SessionStore, StatusEffect } from './types.js';

/**
 * The one rule for "an inbound message proves the Page is linked": record it linked at `at`
 * unless it is known linked already (the store keeps only a later change, so an old message
 * never undoes a newer unlink).
 *
 * @example
 * ```ts
 * if (inboundRelinks(await store.getPage(page))) await store.setPageLinked(page, true, Date.now())
 * ```
 */
export const inboundRelinks = (page: PageState | null): boolean => page?.linked !== true;

/**
 * The one rule for whether an `unlink` effect is recorded: always, or with `ifLinked` only
 * while the Page is known linked (an error that proves nothing about a Page never seen linked).
 *
 * @example
 * ```ts
 * if (unlinkApplies({ kind: 'unlink', ifLinked: true, details: {} }, await store.getPage(page))) await store.setPageLinked(page, false, Date.now())
 * ```
 */
export const unlinkApplies = (effect: Extract<StatusEffect, { kind: 'unlink' }>, page: PageState | null): boolean =>
  !effect.ifLinked || page?.linked === true;

/**
 * Runs {@link IngestInput} against `store`; failures become `StoreError`.
 *
 * @example
 * ```ts
 * const now = Date.now()
 * const { replayed, lease } = await ingestWith(store, { now, replay: { id: '{1029}jti:abc', ttlMs: 600_000 }, lease: { id: '{1029}:status:m-1:read', ttlMs: 60_000 } })
 * ```
 */
export async function ingestWith(store: SessionStore, input: IngestInput): Promise<IngestResult> {
  if (store.ingest !== undefined) {
    const native = store.ingest.bind(store);
    return callStore('ingest', () => native(input));
  }
  const { now, replay, message, status, lease } = input;
  if (!(await callStore('claim', () => store.claim(replay.id, replay.ttlMs)))) {
    return { replayed: true, duplicate: false, applied: false };
  }
  const result: IngestResult = { replayed: false, duplicate: false, applied: false };
  if (message !== undefined) {
    const [recorded, page] = await Promise.all([
      callStore<RecordInboundResult>('recordInbound', () =>
        store.recordInbound(message.key, message.at, message.messageUuid),
      ),
      callStore('getPage', () => store.getPage(message.pageId)),
    ]);
    if (inboundRelinks(page)) {
      await callStore('setPageLinked', () => store.setPageLinked(message.pageId, true, message.at));
    }
    result.duplicate = recorded.duplicate;
    result.state = recorded.state;
  }
  if (status !== undefined) {
    if (status.effect !== undefined) {
      result.applied = await ingestStatusEffect(store, status.key, status.pageId, status.at, status.effect);
    }
    result.duplicate = !(await callStore('claim', () => store.claim(status.dedupe.id, status.dedupe.ttlMs)));
  }
  if (lease !== undefined) result.lease = await callStore('lease', () => store.lease(lease.id, lease.ttlMs, now));
  return result;
}

/**
 * Applies one {@link StatusEffect} through the single operations; true when it was recorded.
 *
 * @example
 * ```ts
 * await ingestStatusEffect(store, conversationKey(page, user), page, Date.now(), { kind: 'close', reason: 'user_unavailable' })
 * ```
 */
export async function ingestStatusEffect(
  store: SessionStore,
  key: ConversationKey,
  pageId: PageId,
  at: number,
  effect: StatusEffect,
): Promise<boolean> {
  if (effect.kind === 'close') {
    await callStore('markClosed', () => store.markClosed(key, at, effect.reason));
    return true;
  }
  const page = effect.ifLinked ? await callStore('getPage', () => store.getPage(pageId)) : null;
  if (!unlinkApplies(effect, page)) return false;
  await callStore('setPageLinked', () => store.setPageLinked(pageId, false, at, effect.details));
  return true;
}
