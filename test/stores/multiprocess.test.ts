/**
 * A fleet: several processes receive the same inbound events (every webhook delivered to every
 * process, in a different order each) and record them through one shared store. Afterwards
 * every conversation holds its latest message, and across all processes each message was new
 * exactly once.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { conversationKey, pageId, psid } from '../../src/ids.js';
import { postgresStore } from '../../src/store/postgres.js';
import { redisStore } from '../../src/store/redis.js';
import { sqliteStore } from '../../src/store/sqlite.js';
import type { SessionStore } from '../../src/store/types.js';
import type { FromWorker, RaceBackend, RaceEvent, ToWorker } from './fixtures/race-worker.js';
import { useRedisCluster } from './redis-cluster.js';
import { runId } from './services.js';
import { useSharedServices } from './shared-services.js';

const WORKERS = 4;
const CONVERSATIONS = 12;
const MESSAGES_PER_CONVERSATION = 40;
const workerPath = fileURLToPath(new URL('./fixtures/race-worker.ts', import.meta.url));

function makeEvents(): RaceEvent[] {
  const page = pageId(String(7_000_000 + Math.floor(Math.random() * 1_000_000)));
  const base = Date.now() - 3_600_000;
  const events: RaceEvent[] = [];
  for (let c = 0; c < CONVERSATIONS; c++) {
    const key = conversationKey(page, psid(String(9_000_000 + c)));
    for (let m = 0; m < MESSAGES_PER_CONVERSATION; m++) {
      events.push({ key, at: base + Math.floor(Math.random() * 3_000_000), uuid: `${runId()}-${c}-${m}` });
    }
  }
  return events;
}

const shuffled = <T>(items: readonly T[]): T[] => {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
};

/** Forks the workers, starts them together, and returns how many new messages each saw. */
async function race(backend: RaceBackend, events: RaceEvent[]): Promise<number[]> {
  const children: ChildProcess[] = [];
  const waitFor = <T extends FromWorker['type']>(child: ChildProcess, type: T) =>
    new Promise<Extract<FromWorker, { type: T }>>((resolve, reject) => {
      const onMessage = (message: FromWorker) => {
        if (message.type === 'failed') reject(new Error(`worker failed: ${message.error}`));
        else if (message.type === type) resolve(message as Extract<FromWorker, { type: T }>);
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`worker exited early with code ${code}`)));
    });
  try {
    for (let i = 0; i < WORKERS; i++) {
      children.push(
        fork(workerPath, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
      );
    }
    const ready = children.map((child) => waitFor(child, 'ready'));
    for (const child of children) child.send({ type: 'start', backend, events: shuffled(events) } satisfies ToWorker);
    await Promise.all(ready);
    const done = children.map((child) => waitFor(child, 'done'));
    for (const child of children) child.send({ type: 'go' } satisfies ToWorker);
    return (await Promise.all(done)).map((d) => d.fresh);
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill();
  }
}

async function expectConsistent(store: SessionStore, events: RaceEvent[], fresh: number[]): Promise<void> {
  // Each worker saw some messages first; together, every message exactly once.
  expect(fresh).toHaveLength(WORKERS);
  expect(fresh.reduce((a, b) => a + b, 0)).toBe(new Set(events.map((e) => e.uuid)).size);
  const latest = new Map<string, RaceEvent>();
  for (const e of events) {
    const best = latest.get(e.key);
    if (best === undefined || e.at > best.at) latest.set(e.key, e);
  }
  for (const [key, e] of latest) {
    const state = await store.get(key as RaceEvent['key']);
    expect(state?.lastInboundAt).toBe(e.at);
  }
}

describe('a fleet of processes racing the same inbound events', () => {
  const s = useSharedServices('fleet');
  const { prefix, table, dir } = s;
  const cluster = useRedisCluster();

  it('through Redis: every conversation holds its latest message, none counted twice', async () => {
    const events = makeEvents();
    const fresh = await race({ kind: 'redis', prefix }, events);
    await expectConsistent(redisStore({ client: s.redis, prefix }), events, fresh);
  }, 120_000);

  it('through Redis Cluster: every conversation holds its latest message, none counted twice', async () => {
    const events = makeEvents();
    const fresh = await race({ kind: 'redis-cluster', port: cluster.port, prefix }, events);
    await expectConsistent(redisStore({ client: cluster.client, prefix }), events, fresh);
  }, 120_000);

  it('through PostgreSQL: every conversation holds its latest message, none counted twice', async () => {
    const events = makeEvents();
    const fresh = await race({ kind: 'postgres', table }, events);
    await expectConsistent(postgresStore({ pool: s.pool, table }), events, fresh);
  }, 120_000);

  it('through one SQLite file: every conversation holds its latest message, none counted twice', async () => {
    const events = makeEvents();
    const file = join(dir, 'fleet.db');
    const fresh = await race({ kind: 'sqlite', file }, events);
    const store = sqliteStore({ database: file });
    await expectConsistent(store, events, fresh);
    await store.close();
  }, 120_000);
});
