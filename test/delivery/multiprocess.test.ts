/**
 * A process killed in the middle of a callback: its lease holds copies off (503) until it
 * expires, then the next copy, in another process, delivers with `redelivered: true`, once.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useRedisCluster } from '../stores/redis-cluster.js';
import { useSharedServices } from '../stores/shared-services.js';
import type { Backend, FromWorker, ToWorker } from './fixtures/delivery-worker.js';
import { freshInbound } from './webhooks.js';

const workerPath = fileURLToPath(new URL('./fixtures/delivery-worker.ts', import.meta.url));
const LEASE_MS = 1500;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A forked messenger process, with what it reported. */
function worker(backend: Backend, callbackMs: number) {
  const child: ChildProcess = fork(workerPath, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const callbacks: boolean[] = [];
  const waiting = new Map<number, (status: number) => void>();
  let onCallback: (() => void) | undefined;
  let failed: string | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (m: FromWorker) => {
      if (m.type === 'ready') resolve();
      else if (m.type === 'callback') {
        callbacks.push(m.redelivered);
        onCallback?.();
      } else if (m.type === 'answer') waiting.get(m.id)?.(m.status);
      else if (m.type === 'failed') {
        failed = m.error;
        reject(new Error(m.error));
      }
    });
  });
  let next = 0;
  child.send({ type: 'start', backend, leaseMs: LEASE_MS, callbackMs } satisfies ToWorker);
  return {
    child,
    ready,
    callbacks,
    failed: () => failed,
    callbackStarted: () => new Promise<void>((resolve) => (onCallback = resolve)),
    deliver(body: string): Promise<number> {
      const id = next++;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        child.send({ type: 'deliver', id, body } satisfies ToWorker);
      });
    },
  };
}

async function killMidCallback(backend: Backend): Promise<void> {
  const doomed = worker(backend, 60_000);
  const survivor = worker(backend, 0);
  try {
    await Promise.all([doomed.ready, survivor.ready]);
    const { body } = freshInbound();
    const started = doomed.callbackStarted();
    void doomed.deliver(body);
    await started;
    doomed.child.kill('SIGKILL');
    // The dead process's lease still holds: Vonage is told to retry later.
    expect(await survivor.deliver(body)).toBe(503);
    await sleep(LEASE_MS + 200);
    expect(await survivor.deliver(body)).toBe(200);
    expect(await survivor.deliver(body)).toBe(200);
    expect(doomed.callbacks).toEqual([false]);
    expect(survivor.callbacks).toEqual([true]);
    expect(survivor.failed()).toBeUndefined();
  } finally {
    for (const w of [doomed, survivor]) if (w.child.exitCode === null) w.child.kill();
  }
}

describe('a process killed mid-callback: a later copy delivers after the lease expires', () => {
  const { prefix, table, dir } = useSharedServices('kill');
  const cluster = useRedisCluster();

  it('through Redis', () => killMidCallback({ kind: 'redis', prefix }), 60_000);
  it('through Redis Cluster', () => killMidCallback({ kind: 'redis-cluster', port: cluster.port, prefix }), 60_000);
  it('through PostgreSQL', () => killMidCallback({ kind: 'postgres', table }), 60_000);
  it('through one SQLite file', () => killMidCallback({ kind: 'sqlite', file: join(dir, 'kill.db') }), 60_000);
});
