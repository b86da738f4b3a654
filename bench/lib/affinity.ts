/**
 * CPU placement for rows that compare two processes.
 *
 * On the 2-core VM the bench runs on, a client's CPU time per loopback send depends on
 * where the scheduler puts it relative to the server. On 2026-12-03 it was about 88 µs when
 * they ran on different cores and about 42 µs when they shared one. The scheduler places each
 * process on its own, so two identical children measured 0.50×–0.76× of each other.
 * Pinning gives both sides the same place. `taskset` is util-linux's; without it, or with
 * one CPU, nothing is pinned and the caller says so.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/** The CPU list `pid` may run on (`0,1`), or `undefined` when `taskset` cannot tell. */
export function affinityOf(pid: number): string | undefined {
  try {
    const out = execFileSync('taskset', ['-p', '-c', String(pid)], { encoding: 'utf8' });
    return /:\s*(\S+)\s*$/.exec(out)?.[1];
  } catch {
    return undefined;
  }
}

/** Pins every thread of `pid` to `cpus` (a `taskset -c` list). False when it could not. */
export function pin(pid: number, cpus: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Puts this process on CPU 0 and a server it talks to (Redis, by its `process_id`) on CPU 1,
 * as a client and a server on two hosts would sit, then restores both.
 */
export function placeApartFrom(serverPid: number): { note: string; restore: () => void } {
  const mine = affinityOf(process.pid);
  const theirs = affinityOf(serverPid);
  if (availableParallelism() < 2 || mine === undefined || theirs === undefined) {
    return { note: 'processes not pinned (one CPU, or no taskset)', restore: () => {} };
  }
  const pinned = pin(process.pid, '0') && pin(serverPid, '1');
  return {
    note: pinned ? 'this process pinned to CPU 0, the server to CPU 1' : 'pinning failed: placed by the scheduler',
    restore: () => {
      pin(process.pid, mine);
      pin(serverPid, theirs);
    },
  };
}

/**
 * Puts the server side (this process) on one CPU and the measured processes on another, as
 * a client and a remote API would sit. Returns the note for the rows and a function that
 * restores this process's placement.
 */
export function placeApart(children: number[]): { note: string; restore: () => void } {
  const before = affinityOf(process.pid);
  if (availableParallelism() < 2 || before === undefined) {
    return { note: 'processes not pinned (one CPU, or no taskset)', restore: () => {} };
  }
  const pinned = pin(process.pid, '0') && children.every((pid) => pin(pid, '1'));
  return {
    note: pinned
      ? 'the stub API pinned to CPU 0, both children to CPU 1'
      : 'pinning failed: processes placed by the scheduler',
    restore: () => {
      pin(process.pid, before);
    },
  };
}
