/**
 * receive() awaits its hot-path store calls directly (not through callStore); each failure
 * must still reach the caller as a StoreError naming the operation, whether the store rejects
 * or throws, and a failure of one of the two parallel calls must not leave the other's
 * rejection unhandled.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/errors.js';
import { memoryStore } from '../../src/store/memory.js';
import type { SessionStore } from '../../src/store/types.js';
import { createWebhookLayer } from '../../src/webhooks/index.js';
import { clock, inboundV1, SECRET, sign, T0 } from './helpers.js';

type Mode = 'reject' | 'throw';

function failingStore(failures: Partial<Record<keyof SessionStore, Mode>>): SessionStore {
  const inner = memoryStore({ now: () => clock.now });
  const wrap = <K extends keyof SessionStore>(name: K): SessionStore[K] => {
    const fn = (inner[name] as (...args: unknown[]) => Promise<unknown>).bind(inner);
    return ((...args: unknown[]) => {
      const mode = failures[name];
      if (mode === 'throw') throw new Error(`${name} threw`);
      if (mode === 'reject') return Promise.reject(new Error(`${name} rejected`));
      return fn(...args);
    }) as SessionStore[K];
  };
  return {
    get: wrap('get'),
    recordInbound: wrap('recordInbound'),
    recordOutbound: wrap('recordOutbound'),
    markClosed: wrap('markClosed'),
    getPage: wrap('getPage'),
    setPageLinked: wrap('setPageLinked'),
    claim: wrap('claim'),
    lease: wrap('lease'),
    settle: wrap('settle'),
    delete: wrap('delete'),
    close: wrap('close'),
  };
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  clock.now = T0;
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

async function failureOf(failures: Partial<Record<keyof SessionStore, Mode>>): Promise<StoreError> {
  const layer = createWebhookLayer({ store: failingStore(failures), signatureSecret: SECRET, now: () => clock.now });
  const error = await layer.receive(sign(inboundV1())).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreError);
  // Let any stray rejection surface before the test ends.
  await new Promise((resolve) => setTimeout(resolve, 10));
  expect(unhandled).toEqual([]);
  return error as StoreError;
}

describe('receive: store failures on the hot path', () => {
  it.each<[keyof SessionStore, Mode]>([
    ['claim', 'reject'],
    ['claim', 'throw'],
    ['recordInbound', 'reject'],
    ['recordInbound', 'throw'],
    ['getPage', 'reject'],
    ['getPage', 'throw'],
  ])('a %s that fails (%s) is a StoreError naming it', async (operation, mode) => {
    const error = await failureOf({ [operation]: mode });
    expect(error.message).toContain(`during ${operation}`);
    expect((error.cause as Error).message).toBe(`${operation} ${mode === 'throw' ? 'threw' : 'rejected'}`);
  });

  it('when recordInbound and getPage both fail, one StoreError and no unhandled rejection', async () => {
    const error = await failureOf({ recordInbound: 'reject', getPage: 'reject' });
    expect(error.message).toContain('during recordInbound');
  });

  it('when recordInbound throws and getPage rejects, one StoreError and no unhandled rejection', async () => {
    const error = await failureOf({ recordInbound: 'throw', getPage: 'reject' });
    expect(error.message).toContain('during recordInbound');
  });
});
