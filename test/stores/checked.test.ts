import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { conversationKey, pageId, psid } from '../../src/ids.js';
import { checkedStore, messengerStore } from '../../src/store/checked.js';
import { memoryStore } from '../../src/store/memory.js';
import type { SessionStore } from '../../src/store/types.js';

const KEY = conversationKey(pageId('102290129340398'), psid('25381719828140932'));

/** A store that records which methods reached it. */
function spy(): { store: SessionStore & { prune(): Promise<number> }; calls: string[] } {
  const calls: string[] = [];
  // Without readForSend: the test shows an absent capability stays absent.
  const { readForSend: _absent, ...inner } = memoryStore();
  const store = {
    ...inner,
    recordInbound: (...args: Parameters<SessionStore['recordInbound']>) => {
      calls.push('recordInbound');
      return inner.recordInbound(...args);
    },
    async prune() {
      calls.push('prune');
      return 7;
    },
  };
  return { store, calls };
}

describe('checkedStore', () => {
  it('refuses a bad argument before the store sees the call, and passes good ones through', async () => {
    const { store, calls } = spy();
    const checked = checkedStore(store);
    await expect(checked.recordInbound(KEY, Number.NaN, 'm-1')).rejects.toBeInstanceOf(ValidationError);
    await expect(checked.recordInbound(KEY, 1000, 'm-1')).resolves.toMatchObject({ duplicate: false });
    expect(calls).toEqual(['recordInbound']);
  });

  it('rejects rather than throws, with the field in the issue path', async () => {
    const checked = checkedStore(memoryStore());
    const pending = checked.claim('', 1000);
    expect(pending).toBeInstanceOf(Promise);
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([{ path: 'id', message: 'must be non-empty' }]);
  });

  it('keeps the store’s other methods, and offers only the optional capabilities the store has', async () => {
    const { store, calls } = spy();
    const checked = checkedStore(store);
    expect(await checked.prune()).toBe(7);
    expect(calls).toEqual(['prune']);
    expect(checked.takeToken).toBeUndefined();
    expect(checked.readForSend).toBeUndefined();
    expect(typeof checked.recordAdReferral).toBe('function');
  });

  it('wraps once: a checked store is returned as it is; the messenger layer checks as well', async () => {
    const { store, calls } = spy();
    const checked = checkedStore(store);
    expect(checkedStore(checked)).toBe(checked);
    const layer = messengerStore(checked);
    await expect(layer.recordInbound(KEY, -1, 'm-1')).rejects.toBeInstanceOf(ValidationError);
    await layer.recordInbound(KEY, 1000, 'm-2');
    expect(calls).toEqual(['recordInbound']);
    expect(checkedStore(layer)).toBe(layer);
  });
});
