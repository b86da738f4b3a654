/**
 * A `SessionStore` that publishes each operation's duration and failure on the
 * `vonage-messenger:store` channel. `createMessenger` wraps its store once, so every adapter
 * (and a user's own store) is timed the same way without knowing it. Nobody listening: each
 * call is one boolean read and a direct call of the wrapped method.
 *
 * @module
 */
import { storeObserved, timeStoreOperation } from '../diagnostics.js';
import type { SessionStore } from './types.js';

/**
 * Wraps a store for the store channel; the wrapped store is used as it is.
 *
 * @internal
 */
export function observeStore(store: SessionStore): SessionStore {
  // One arrow per method, fixed arity: no rest array or bind on the unobserved path.
  const s = store;
  const on = storeObserved;
  const time = timeStoreOperation;
  const observed: SessionStore = {
    get: (key) => (on() ? time('get', () => s.get(key)) : s.get(key)),
    recordInbound: (key, at, uuid) =>
      on() ? time('recordInbound', () => s.recordInbound(key, at, uuid)) : s.recordInbound(key, at, uuid),
    recordOutbound: (key, at) =>
      on() ? time('recordOutbound', () => s.recordOutbound(key, at)) : s.recordOutbound(key, at),
    markClosed: (key, at, reason) =>
      on() ? time('markClosed', () => s.markClosed(key, at, reason)) : s.markClosed(key, at, reason),
    getPage: (page) => (on() ? time('getPage', () => s.getPage(page)) : s.getPage(page)),
    setPageLinked: (page, linked, at, details) =>
      on()
        ? time('setPageLinked', () => s.setPageLinked(page, linked, at, details))
        : s.setPageLinked(page, linked, at, details),
    claim: (id, ttlMs) => (on() ? time('claim', () => s.claim(id, ttlMs)) : s.claim(id, ttlMs)),
    lease: (id, ttlMs, now) => (on() ? time('lease', () => s.lease(id, ttlMs, now)) : s.lease(id, ttlMs, now)),
    settle: (id, attempt, ok, now) =>
      on() ? time('settle', () => s.settle(id, attempt, ok, now)) : s.settle(id, attempt, ok, now),
    delete: (key) => (on() ? time('delete', () => s.delete(key)) : s.delete(key)),
    close: () => (on() ? time('close', () => s.close()) : s.close()),
  };
  // Optional capabilities: present only when the store has them (callers check for them).
  const { ingest, readForSend } = s;
  if (ingest !== undefined) {
    observed.ingest = (input) => (on() ? time('ingest', () => ingest.call(s, input)) : ingest.call(s, input));
  }
  if (readForSend !== undefined) {
    observed.readForSend = (page, key) =>
      on() ? time('readForSend', () => readForSend.call(s, page, key)) : readForSend.call(s, page, key);
  }
  const takeToken = s.takeToken;
  if (takeToken !== undefined) {
    observed.takeToken = (bucket, rate, burst, now) =>
      on()
        ? time('takeToken', () => takeToken.call(s, bucket, rate, burst, now))
        : takeToken.call(s, bucket, rate, burst, now);
  }
  const { recordAdReferral, setTagAvailability, getTagAvailability } = s;
  if (recordAdReferral !== undefined) {
    observed.recordAdReferral = (key, at) =>
      on() ? time('recordAdReferral', () => recordAdReferral.call(s, key, at)) : recordAdReferral.call(s, key, at);
  }
  if (setTagAvailability !== undefined) {
    observed.setTagAvailability = (page, tag, available, at, details) =>
      on()
        ? time('setTagAvailability', () => setTagAvailability.call(s, page, tag, available, at, details))
        : setTagAvailability.call(s, page, tag, available, at, details);
  }
  if (getTagAvailability !== undefined) {
    observed.getTagAvailability = (page) =>
      on() ? time('getTagAvailability', () => getTagAvailability.call(s, page)) : getTagAvailability.call(s, page);
  }
  const { listByLastInbound } = s;
  if (listByLastInbound !== undefined) {
    observed.listByLastInbound = (range) =>
      on() ? time('listByLastInbound', () => listByLastInbound.call(s, range)) : listByLastInbound.call(s, range);
  }
  return observed;
}
