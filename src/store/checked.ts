/**
 * The one place where a store's arguments are checked. Every store of this package is
 * returned wrapped by {@link checkedStore}, and `createMessenger` wraps whatever store it is
 * given, so an adapter (ours or yours) only translates: it may assume integer epoch-ms times,
 * positive integer durations, non-empty ids and known reasons. A refused call rejects with
 * `ValidationError` before it reaches the store, so nothing is stored.
 *
 * The messenger's layer also publishes each operation on the store channel (diagnostics):
 * checks and timing are one wrapper, so the hot path pays one extra call per operation.
 *
 * @module
 */
import { storeObserved, timeStoreOperation } from '../diagnostics.js';
import { ValidationError } from '../errors.js';
import { badBucket, badDuration, badInboundRange, badReason, badText, badTime } from './shared.js';
import type { IngestInput, PageLinkDetails, SessionStore, StatusEffect } from './types.js';

/** Checked layers → the store they wrap, so that a store is never checked twice. */
const UNCHECKED = new WeakMap<SessionStore, SessionStore>();

const off = (): boolean => false;

const invalid = (path: string, message: string) => new ValidationError(`${path} ${message}`, [{ path, message }]);

const badFlag = (value: boolean, name: string): ValidationError | undefined =>
  typeof value === 'boolean' ? undefined : invalid(name, 'must be a boolean');

const badAttempt = (value: number): ValidationError | undefined =>
  Number.isSafeInteger(value) && value > 0 ? undefined : invalid('attempt', 'must be a positive integer');

function badDetails(details: PageLinkDetails | undefined): ValidationError | undefined {
  if (details === undefined) return undefined;
  const { errorCode, errorDetail } = details;
  if (errorCode !== undefined && typeof errorCode !== 'string') return invalid('errorCode', 'must be a string');
  if (errorDetail !== undefined && typeof errorDetail !== 'string') return invalid('errorDetail', 'must be a string');
  return undefined;
}

function badEffect(effect: StatusEffect | undefined): ValidationError | undefined {
  if (effect === undefined) return undefined;
  return effect.kind === 'close' ? badReason(effect.reason) : badDetails(effect.details);
}

/** Everything {@link SessionStore.ingest} is given, checked as the single operations check it. */
function badIngest({ now, replay, message, status, lease }: IngestInput): ValidationError | undefined {
  return (
    badText(replay.id, 'replay.id') ??
    badDuration(replay.ttlMs, 'replay.ttlMs') ??
    badTime(now, 'now') ??
    (message === undefined
      ? undefined
      : (badText(message.key, 'key') ??
        badText(message.pageId, 'pageId') ??
        badTime(message.at, 'at') ??
        badText(message.messageUuid, 'messageUuid'))) ??
    (status === undefined
      ? undefined
      : (badText(status.key, 'key') ??
        badText(status.pageId, 'pageId') ??
        badTime(status.at, 'at') ??
        badText(status.dedupe.id, 'dedupe.id') ??
        badDuration(status.dedupe.ttlMs, 'dedupe.ttlMs') ??
        badEffect(status.effect))) ??
    (lease === undefined ? undefined : (badText(lease.id, 'lease.id') ?? badDuration(lease.ttlMs, 'lease.ttlMs')))
  );
}

/**
 * The checked layer over `s`; with `observed`, each operation is also timed on the store
 * channel while anyone listens. Hand-tuned: one arrow per method with fixed arity (no rest
 * array, no bind), and the checks chained with `??`, so a valid call allocates nothing.
 */
function storeLayer(s: SessionStore, observed: boolean): SessionStore {
  const on = observed ? storeObserved : off;
  const time = timeStoreOperation;
  const layer: SessionStore = {
    get: (key) => {
      const bad = badText(key, 'key');
      if (bad !== undefined) return Promise.reject(bad);
      return on() ? time('get', () => s.get(key)) : s.get(key);
    },
    recordInbound: (key, at, uuid) => {
      const bad = badText(key, 'key') ?? badTime(at, 'at') ?? badText(uuid, 'messageUuid');
      if (bad !== undefined) return Promise.reject(bad);
      return on() ? time('recordInbound', () => s.recordInbound(key, at, uuid)) : s.recordInbound(key, at, uuid);
    },
    recordOutbound: (key, at) => {
      const bad = badText(key, 'key') ?? badTime(at, 'at');
      if (bad !== undefined) return Promise.reject(bad);
      return on() ? time('recordOutbound', () => s.recordOutbound(key, at)) : s.recordOutbound(key, at);
    },
    markClosed: (key, at, reason) => {
      const bad = badText(key, 'key') ?? badTime(at, 'at') ?? badReason(reason);
      if (bad !== undefined) return Promise.reject(bad);
      return on() ? time('markClosed', () => s.markClosed(key, at, reason)) : s.markClosed(key, at, reason);
    },
    getPage: (page) => {
      const bad = badText(page, 'pageId');
      if (bad !== undefined) return Promise.reject(bad);
      return on() ? time('getPage', () => s.getPage(page)) : s.getPage(page);
    },
    setPageLinked: (page, linked, at, details) => {
      const bad = badText(page, 'pageId') ?? badFlag(linked, 'linked') ?? badTime(at, 'at') ?? badDetails(details);
      if (bad !== undefined) return Promise.reject(bad);
      return on()
        ? time('setPageLinked', () => s.setPageLinked(page, linked, at, details))
        : s.setPageLinked(page, linked, at, details);
    },
    claim: (id, ttlMs) => {
      const bad = badText(id, 'id') ?? badDuration(ttlMs, 'ttlMs');
      if (bad !== undefined) return Promise.reject(bad);
      return on() ? time('claim', () => s.claim(id, ttlMs)) : s.claim(id, ttlMs);
    },
    lease: (id, ttlMs, now) => {
      const bad = badText(id, 'id') ?? badDuration(ttlMs, 'ttlMs') ?? badTime(now, 'now');
      if (bad !== undefined) return Promise.reject(bad);
      return on() ? time('lease', () => s.lease(id, ttlMs, now)) : s.lease(id, ttlMs, now);
    },
    settle: (id, attempt, ok, now) => {
      const bad = badText(id, 'id') ?? badAttempt(attempt) ?? badFlag(ok, 'ok') ?? badTime(now, 'now');
      if (bad !== undefined) return Promise.reject(bad);
      return on() ? time('settle', () => s.settle(id, attempt, ok, now)) : s.settle(id, attempt, ok, now);
    },
    delete: (key) => {
      const bad = badText(key, 'key');
      if (bad !== undefined) return Promise.reject(bad);
      return on() ? time('delete', () => s.delete(key)) : s.delete(key);
    },
    close: () => (on() ? time('close', () => s.close()) : s.close()),
  };
  // Optional capabilities: present only when the store has them (callers check for them).
  const {
    ingest,
    readForSend,
    takeToken,
    recordAdReferral,
    setTagAvailability,
    getTagAvailability,
    listByLastInbound,
  } = s;
  if (ingest !== undefined) {
    layer.ingest = (input) => {
      const bad = badIngest(input);
      if (bad !== undefined) return Promise.reject(bad);
      return on() ? time('ingest', () => ingest.call(s, input)) : ingest.call(s, input);
    };
  }
  if (readForSend !== undefined) {
    layer.readForSend = (page, key) => {
      const bad = badText(page, 'pageId') ?? badText(key, 'key');
      if (bad !== undefined) return Promise.reject(bad);
      return on() ? time('readForSend', () => readForSend.call(s, page, key)) : readForSend.call(s, page, key);
    };
  }
  if (takeToken !== undefined) {
    layer.takeToken = (bucket, rate, burst, now) => {
      const bad = badBucket(bucket, rate, burst, now);
      if (bad !== undefined) return Promise.reject(bad);
      return on()
        ? time('takeToken', () => takeToken.call(s, bucket, rate, burst, now))
        : takeToken.call(s, bucket, rate, burst, now);
    };
  }
  if (recordAdReferral !== undefined) {
    layer.recordAdReferral = (key, at) => {
      const bad = badText(key, 'key') ?? badTime(at, 'at');
      if (bad !== undefined) return Promise.reject(bad);
      return on()
        ? time('recordAdReferral', () => recordAdReferral.call(s, key, at))
        : recordAdReferral.call(s, key, at);
    };
  }
  if (setTagAvailability !== undefined) {
    layer.setTagAvailability = (page, tag, available, at, details) => {
      const bad =
        badText(page, 'pageId') ??
        badText(tag, 'tag') ??
        badFlag(available, 'available') ??
        badTime(at, 'at') ??
        badDetails(details);
      if (bad !== undefined) return Promise.reject(bad);
      return on()
        ? time('setTagAvailability', () => setTagAvailability.call(s, page, tag, available, at, details))
        : setTagAvailability.call(s, page, tag, available, at, details);
    };
  }
  if (getTagAvailability !== undefined) {
    layer.getTagAvailability = (page) => {
      const bad = badText(page, 'pageId');
      if (bad !== undefined) return Promise.reject(bad);
      return on()
        ? time('getTagAvailability', () => getTagAvailability.call(s, page))
        : getTagAvailability.call(s, page);
    };
  }
  if (listByLastInbound !== undefined) {
    layer.listByLastInbound = (range) => {
      const bad = badInboundRange(range);
      if (bad !== undefined) return Promise.reject(bad);
      return on()
        ? time('listByLastInbound', () => listByLastInbound.call(s, range))
        : listByLastInbound.call(s, range);
    };
  }
  UNCHECKED.set(layer, s);
  return layer;
}

/**
 * Wraps a store so that every {@link SessionStore} method checks its arguments first and
 * rejects bad ones with `ValidationError`, storing nothing (times: non-negative integer epoch
 * ms; durations and attempts: positive integers; ids, keys, tags and buckets: non-empty
 * strings; reasons from the vocabulary; flags: booleans). Other methods of the store (such
 * as `prune`) pass through. A store that is already checked is returned as it is.
 *
 * @example
 * ```ts
 * import { checkedStore, type SessionStore } from 'vonage-messenger'
 *
 * declare const myStore: SessionStore
 * const store = checkedStore(myStore)
 * await store.claim('', 1000) // rejects with ValidationError: id must be a non-empty string
 * ```
 */
export function checkedStore<S extends SessionStore>(store: S): S {
  if (UNCHECKED.has(store)) return store;
  const layer = storeLayer(store, false) as unknown as Record<string, unknown>;
  // Adapter extras (createTables, prune, ...) check their own options: passed through as they are.
  for (let o: object | null = store; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name === 'constructor' || name in layer) continue;
      const value = (store as unknown as Record<string, unknown>)[name];
      layer[name] = typeof value === 'function' ? value.bind(store) : value;
    }
  }
  return layer as S;
}

/**
 * The store as `createMessenger` uses it: checked once (a store that {@link checkedStore}
 * already wrapped is unwrapped first) and observed on the store channel, in one layer.
 *
 * @internal
 */
export function messengerStore(store: SessionStore): SessionStore {
  return storeLayer(UNCHECKED.get(store) ?? store, true);
}
