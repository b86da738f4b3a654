/**
 * CPU placement for rows that compare two processes.
 *
 * On the 2-core VM the bench runs on, a client's CPU time per loopback send depends on
 * where the scheduler puts it relative to the server. On 2026-12-03 it was about 88 µs when
 * they ran on different cores and about 42 µs when they shared one. The scheduler places each
 * process on its own, so two identical children measured 0.50×–0.76× of each other.
 * Pinning gives both sides the same place. `taskset` is util-linux's; without it, or with
 * one CPU, nothing is pinned and the note says so.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/** The CPU list `pid` may run on (`0,1`), or `undefined` when `taskset` cannot tell. */
function affinityOf(pid: number): string | undefined {
  try {
    const out = execFileSync('taskset', ['-p', '-c', String(pid)], { encoding: 'utf8' });
    return /:\s*(\S+)\s*$/.exec(out)?.[1];
  } catch {
    return undefined;
  }
}

/** Pins every thread of `pid` to `cpus` (a `taskset -c` list). False when it could not. */
function pin(pid: number, cpus: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Pins the processes of `first` to CPU 0 and those of `second` to CPU 1, as a client and a
 * server on two hosts would sit. `note` is `placed` (what the caller calls that placement)
 * or why nothing was pinned, for the row; `restore` gives every pinned process that still
 * runs its placement back.
 */
export function pinApart(first: number[], second: number[], placed: string): { note: string; restore: () => void } {
  const firstBefore = first.map((pid) => [pid, affinityOf(pid)] as const);
  // A server process that has exited since it was listed (a PostgreSQL autovacuum worker) is
  // left out; the row is unpinned only when this side or the whole other side cannot be.
  const secondBefore = second.map((pid) => [pid, affinityOf(pid)] as const).filter(([, cpus]) => cpus !== undefined);
  const before = [...firstBefore, ...secondBefore];
  if (availableParallelism() < 2 || secondBefore.length === 0 || before.some(([, cpus]) => cpus === undefined)) {
    return { note: 'processes not pinned (one CPU, or no taskset)', restore: () => {} };
  }
  const restore = () => {
    for (const signal of SIGNALS) process.off(signal, onSignal);
    for (const [pid, cpus] of before) pin(pid, cpus as string);
  };
  // An interrupted bench must not leave a shared server (redis-server) pinned: restore, then
  // let the signal end the process as it would have.
  const onSignal = (signal: NodeJS.Signals) => {
    restore();
    process.kill(process.pid, signal);
  };
  for (const signal of SIGNALS) process.once(signal, onSignal);
  const pinned = first.every((pid) => pin(pid, '0')) && secondBefore.every(([pid]) => pin(pid, '1'));
  return { note: pinned ? placed : 'pinning failed: placed by the scheduler', restore };
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Runs `measure` with this process on CPU 0 and the server's processes on CPU 1 (none, as for
 * SQLite: in place), restores the placement, and says how it ran, for the row's notes.
 */
export async function measureApart<T>(
  serverPids: number[],
  measure: () => Promise<T>,
): Promise<{ value: T; placement: string }> {
  if (serverPids.length === 0) return { value: await measure(), placement: 'one process (no server)' };
  const pinned = pinApart([process.pid], serverPids, 'this process pinned to CPU 0, the server to CPU 1');
  try {
    return { value: await measure(), placement: pinned.note };
  } finally {
    pinned.restore();
  }
}
