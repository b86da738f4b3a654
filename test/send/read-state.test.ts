/**
 * The send path reads the Page and the conversation with readPageAndConversation, not through
 * Promise.all and callStore: every failure must still be a StoreError naming the operation,
 * whether the store rejects or throws, and a failure of one call must not leave the other's
 * rejection unhandled.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/errors.js';
import { conversationKey, pageId, psid } from '../../src/ids.js';
import { readPageAndConversation } from '../../src/send/read-state.js';
import { memoryStore } from '../../src/store/memory.js';
import type { SessionStore } from '../../src/store/types.js';

const PAGE = pageId('102290129340398');
const KEY = conversationKey(PAGE, psid('25381719828140932'));
type Mode = 'reject' | 'throw';

function storeFailing(failures: { get?: Mode; getPage?: Mode }): SessionStore {
  const inner = memoryStore();
  const fail = (name: 'get' | 'getPage', ok: () => Promise<unknown>) => {
    const mode = failures[name];
    if (mode === 'throw') throw new Error(`${name} threw`);
    if (mode === 'reject') return Promise.reject(new Error(`${name} rejected`));
    return ok();
  };
  return {
    ...inner,
    get: (key) => fail('get', () => inner.get(key)) as ReturnType<SessionStore['get']>,
    getPage: (page) => fail('getPage', () => inner.getPage(page)) as ReturnType<SessionStore['getPage']>,
  };
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

async function failureOf(failures: { get?: Mode; getPage?: Mode }): Promise<StoreError> {
  const error = await readPageAndConversation(storeFailing(failures), PAGE, KEY).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreError);
  await new Promise((resolve) => setTimeout(resolve, 10));
  expect(unhandled).toEqual([]);
  return error as StoreError;
}

describe('readPageAndConversation', () => {
  it('reads both: the Page state and the conversation', async () => {
    const store = memoryStore({ now: () => 5_000 });
    await store.recordInbound(KEY, 1_000, 'm-1');
    await store.setPageLinked(PAGE, false, 2_000, { errorCode: '1370' });
    const [page, conversation] = await readPageAndConversation(store, PAGE, KEY);
    expect(page).toMatchObject({ linked: false, errorCode: '1370' });
    expect(conversation).toMatchObject({ lastInboundAt: 1_000, lastInboundUuid: 'm-1' });
    expect(await readPageAndConversation(memoryStore(), PAGE, KEY)).toEqual([null, null]);
  });

  for (const mode of ['reject', 'throw'] as const) {
    it(`names getPage when it ${mode}s`, async () => {
      expect((await failureOf({ getPage: mode })).message).toMatch(/during getPage/);
    });
    it(`names get when it ${mode}s`, async () => {
      expect((await failureOf({ get: mode })).message).toMatch(/during get:/);
    });
    it(`leaves no unhandled rejection when both ${mode}`, async () => {
      expect((await failureOf({ get: mode, getPage: mode })).message).toMatch(/during getPage/);
    });
  }
});
