/** Shared fixtures for the webhook tests: a write-recording store, a movable clock, payloads. */
import { memoryStore } from '../../src/store/memory.js';
import type { SessionStore } from '../../src/store/types.js';
import { type SignWebhookOptions, signWebhook } from '../../src/testing/sign.js';
import { createWebhookLayer, type WebhookLayerDeps } from '../../src/webhooks/index.js';

export const SECRET = 'test-signature-secret';
export const PAGE = '102290129340398';
export const PSID = '23037543461244470'; // above 2^53: must stay a string
export const UUID = 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab';
export const T0 = Date.parse('2026-03-01T12:00:00.000Z');

/** A store whose writes are recorded, to assert that a refused request wrote nothing. */
export function recordingStore(inner: SessionStore = memoryStore({ now: () => clock.now })) {
  const writes: string[] = [];
  let failing: string | undefined;
  let failingPrefix = '';
  const wrap =
    <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>, write: boolean) =>
    async (...args: A): Promise<R> => {
      if ((failing === name || failing === '*') && String(args[0]).startsWith(failingPrefix)) {
        throw new Error(`${name} is down`);
      }
      const result = await fn(...args);
      // A claim that returns false changed nothing (the id was already claimed).
      if (write && result !== false) writes.push(`${name}(${args.map((a) => JSON.stringify(a)).join(', ')})`);
      return result;
    };
  const store: SessionStore = {
    get: wrap('get', inner.get.bind(inner), false),
    getPage: wrap('getPage', inner.getPage.bind(inner), false),
    recordInbound: wrap('recordInbound', inner.recordInbound.bind(inner), true),
    recordOutbound: wrap('recordOutbound', inner.recordOutbound.bind(inner), true),
    markClosed: wrap('markClosed', inner.markClosed.bind(inner), true),
    setPageLinked: wrap('setPageLinked', inner.setPageLinked.bind(inner), true),
    claim: wrap('claim', inner.claim.bind(inner), true),
    lease: wrap('lease', inner.lease.bind(inner), true),
    settle: wrap('settle', inner.settle.bind(inner), true),
    delete: wrap('delete', inner.delete.bind(inner), true),
    close: inner.close.bind(inner),
  };
  return {
    store,
    writes,
    /**
     * Makes one operation (or every one, '*') throw until called again with undefined;
     * with `prefix`, only calls whose first argument starts with it.
     */
    fail(operation: string | undefined, prefix = '') {
      failing = operation;
      failingPrefix = prefix;
    },
  };
}

/** The test clock (shared by the store and the layer). */
export const clock = { now: T0 };

export function setup(overrides: Partial<WebhookLayerDeps> = {}) {
  clock.now = T0;
  const recorder = recordingStore();
  const layer = createWebhookLayer({
    store: recorder.store,
    signatureSecret: SECRET,
    now: () => clock.now,
    ...overrides,
  });
  return { ...recorder, layer };
}

export const sign = (body: string | object, options: SignWebhookOptions = {}, secret = SECRET) =>
  signWebhook(body, secret, { issuedAt: clock.now, ...options });

export function inboundV1(fields: Record<string, unknown> = {}) {
  return {
    channel: 'messenger',
    message_uuid: UUID,
    to: PAGE,
    from: PSID,
    timestamp: '2026-03-01T11:59:30.000Z',
    message_type: 'text',
    text: 'Hello',
    ...fields,
  };
}

export function inboundV0(content: Record<string, unknown> = { type: 'text', text: 'Hello' }, fields = {}) {
  return {
    message_uuid: UUID,
    to: { type: 'messenger', id: PAGE },
    from: { id: PSID, type: 'messenger' },
    timestamp: '2026-03-01T11:59:30.000Z',
    message: { content },
    ...fields,
  };
}

export function statusV1(fields: Record<string, unknown> = {}) {
  return {
    channel: 'messenger',
    message_uuid: 'bbbbbbbb-cccc-dddd-eeee-0123456789ab',
    to: PSID,
    from: PAGE,
    timestamp: '2026-03-01T11:59:50.000Z',
    status: 'delivered',
    ...fields,
  };
}

export function statusV0(fields: Record<string, unknown> = {}) {
  return {
    message_uuid: 'bbbbbbbb-cccc-dddd-eeee-0123456789ab',
    to: { type: 'messenger', id: PSID },
    from: { type: 'messenger', id: PAGE },
    timestamp: '2026-03-01T11:59:50.000Z',
    status: 'delivered',
    ...fields,
  };
}

export function rejected(code: string | number, fields: Record<string, unknown> = {}) {
  return statusV1({
    status: 'rejected',
    error: {
      type: `https://developer.nexmo.com/api-errors/messages-olympus#${code}`,
      title: code,
      detail: 'refused',
      instance: 'f4c6d6a4-0000-4000-8000-000000000000',
    },
    ...fields,
  });
}
