/**
 * The send path's hand-tuned store read: the Page link and the conversation, both calls
 * started together (one wait, not two, on a networked store) as `Promise.all` over two
 * `callStore` calls would, but without the four promises those add to every send. Failures
 * become the same `StoreError`, whether a call rejects or throws, and a rejection of the
 * call not awaited yet is never left unhandled.
 *
 * @module
 */
import type { ConversationKey, PageId } from '../ids.js';
import { storeError } from '../store/guard.js';
import type { ConversationState, PageState, SessionStore } from '../store/types.js';

const ignore = (): void => {};

/** Starts one store call; a synchronous throw becomes a rejection with its `StoreError`. */
function start<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return call();
  } catch (error) {
    return Promise.reject(storeError(operation, error));
  }
}

/** `[store.getPage(page), store.get(key)]`, read in parallel; rejects with `StoreError`. */
export async function readPageAndConversation(
  store: SessionStore,
  page: PageId,
  key: ConversationKey,
): Promise<readonly [PageState | null, ConversationState | null]> {
  const paging = start('getPage', () => store.getPage(page));
  const reading = start('get', () => store.get(key));
  // Awaited only after paging settles: a rejection before then must not be unhandled.
  reading.then(undefined, ignore);
  let pageState: PageState | null;
  try {
    pageState = await paging;
  } catch (error) {
    throw storeError('getPage', error);
  }
  let conversation: ConversationState | null;
  try {
    conversation = await reading;
  } catch (error) {
    throw storeError('get', error);
  }
  return [pageState, conversation];
}
