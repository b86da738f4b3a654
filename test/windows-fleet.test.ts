/**
 * watchWindows across a fleet: two forked processes, each with its own messenger and
 * connection, watch ONE real Redis and ONE real PostgreSQL store and poll at the same moments.
 * Every window end is announced once in total; a newer message announces the new window once;
 * a closed conversation never.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { conversationKey, type PageId, pageId, psid } from '../src/ids.js';
import { closingWindowSpans, MESSENGER_POLICY } from '../src/policy.js';
import { postgresStore } from '../src/store/postgres.js';
import { redisStore } from '../src/store/redis.js';
import type { SessionStore } from '../src/store/types.js';
import type { FromWatcher, ToWatcher, WatchBackend } from './stores/fixtures/watch-worker.js';
import { useSharedServices } from './stores/shared-services.js';

const workerPath = fileURLToPath(new URL('./stores/fixtures/watch-worker.ts', import.meta.url));
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
// The real time: Redis and PostgreSQL expire conversations on their own clocks.
const T = Math.floor(Date.now() / MINUTE) * MINUTE;
const STANDARD = closingWindowSpans(MESSENGER_POLICY, T).standard as number;
const CLOSING = 40;

function spawn(): ChildProcess {
  return fork(workerPath, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function reply<T extends FromWatcher['type']>(child: ChildProcess, type: T) {
  return new Promise<Extract<FromWatcher, { type: T }>>((resolve, reject) => {
    const onMessage = (message: FromWatcher) => {
      if (message.type === 'failed') finish(() => reject(new Error(`watcher failed: ${message.error}`)));
      else if (message.type === type) finish(() => resolve(message as Extract<FromWatcher, { type: T }>));
    };
    const onExit = (code: number | null) => finish(() => reject(new Error(`watcher exited early with code ${code}`)));
    const finish = (settle: () => void) => {
      child.off('message', onMessage);
      child.off('exit', onExit);
      settle();
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Sends `message` to every child at once and gathers their answers of `type`. */
async function all<T extends FromWatcher['type']>(children: ChildProcess[], message: ToWatcher, type: T) {
  const answers = children.map((child) => reply(child, type));
  for (const child of children) child.send(message);
  return Promise.all(answers);
}

/** Conversations on two Pages: CLOSING close within 2 h of T, one closes later, one is closed. */
async function seed(store: SessionStore, page: PageId, other: PageId): Promise<string[]> {
  const expected: string[] = [];
  for (let i = 0; i < CLOSING; i++) {
    const p = i % 2 === 0 ? page : other;
    const user = psid(String(9_100_000 + i));
    const at = T - STANDARD + 2 * HOUR - i * MINUTE; // closes at T + 2 h − i min
    await store.recordInbound(conversationKey(p, user), at, `m-${i}`);
    expected.push(`${p}:${user}:standard:${at + STANDARD}`);
  }
  await store.recordInbound(conversationKey(page, psid('9199998')), T - 10 * HOUR, 'later');
  const closed = conversationKey(page, psid('9199999'));
  await store.recordInbound(closed, T - 23 * HOUR, 'closed');
  await store.markClosed(closed, T - HOUR, 'closed_by_platform');
  return expected.sort();
}

async function watchTogether(backend: WatchBackend, store: SessionStore): Promise<void> {
  const run = String(Date.now() % 1_000_000);
  const [page, other] = [pageId(`71${run}`), pageId(`72${run}`)];
  const expected = await seed(store, page, other);
  const children = [spawn(), spawn()];
  try {
    await all(children, { type: 'start', backend, now: T }, 'ready');

    // Both processes poll at the same moment: every window end is announced once in total.
    const first = await all(children, { type: 'poll', now: T }, 'polled');
    expect(first.flatMap((a) => a.errors)).toEqual([]);
    const fired = first.flatMap((a) => a.fired).sort();
    expect(fired).toEqual(expected);
    expect(new Set(fired).size).toBe(fired.length);

    // Polling again, later, announces nothing more.
    const again = await all(children, { type: 'poll', now: T + 30 * MINUTE }, 'polled');
    expect(again.flatMap((a) => a.fired)).toEqual([]);

    // The first user writes again at T + 1 h: the new window is announced once, 2 h before it closes.
    const user = psid('9100000');
    await store.recordInbound(conversationKey(page, user), T + HOUR, 'again');
    const nearEnd = T + HOUR + STANDARD - 90 * MINUTE;
    const renewed = await all(children, { type: 'poll', now: nearEnd }, 'polled');
    expect(renewed.flatMap((a) => a.fired)).toEqual([`${page}:${user}:standard:${T + HOUR + STANDARD}`]);
    expect((await all(children, { type: 'poll', now: nearEnd + MINUTE }, 'polled')).flatMap((a) => a.fired)).toEqual(
      [],
    );
    await all(children, { type: 'stop' }, 'stopped');
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill();
  }
}

describe('watchWindows in a fleet of processes', () => {
  const s = useSharedServices('watch');

  it('through one Redis: each window end announced once in total, a renewed window once more', async () => {
    await watchTogether({ kind: 'redis', prefix: s.prefix }, redisStore({ client: s.redis, prefix: s.prefix }));
  }, 120_000);

  it('through one PostgreSQL: each window end announced once in total, a renewed window once more', async () => {
    await watchTogether({ kind: 'postgres', table: s.table }, postgresStore({ pool: s.pool, table: s.table }));
  }, 120_000);
});
