/**
 * Two ways to time things: tinybench for per-operation latency (sequential, one call at a
 * time), and a fixed-duration closed loop for throughput at a given concurrency.
 */
import { Bench } from 'tinybench';

export interface Timing {
  /** Mean time per operation, nanoseconds. */
  meanNs: number;
  p50Ns: number;
  p99Ns: number;
  /** Operations per second (1e9 / meanNs). */
  opsPerSec: number;
  /** Relative margin of error of the mean, percent. */
  rme: number;
  samples: number;
}

export interface TimeOptions {
  /** Milliseconds per task (default 1000). */
  time?: number;
  /** Milliseconds of warm-up per task (default 250). */
  warmupTime?: number;
  /** Minimum iterations (default 64). */
  iterations?: number;
}

/** Times each task with tinybench, one after the other in the same process. */
export async function timeTasks(
  tasks: Record<string, () => unknown>,
  options: TimeOptions = {},
): Promise<Record<string, Timing>> {
  const bench = new Bench({
    time: options.time ?? 1000,
    warmupTime: options.warmupTime ?? 250,
    iterations: options.iterations ?? 64,
    throws: true,
  });
  for (const [name, fn] of Object.entries(tasks)) bench.add(name, fn);
  await bench.run();
  const out: Record<string, Timing> = {};
  for (const task of bench.tasks) {
    const result = task.result;
    if (result === undefined || result.error !== undefined) {
      throw new Error(`benchmark task "${task.name}" failed: ${result?.error?.message ?? 'no result'}`);
    }
    const latency = result.latency;
    const meanNs = latency.mean * 1e6;
    out[task.name] = {
      meanNs,
      p50Ns: (latency.p50 ?? latency.mean) * 1e6,
      p99Ns: (latency.p99 ?? latency.max) * 1e6,
      opsPerSec: 1e9 / meanNs,
      rme: latency.rme,
      samples: latency.samples?.length ?? task.runs,
    };
  }
  return out;
}

export interface ThroughputOptions {
  concurrency: number;
  /** Measured window, ms. */
  durationMs: number;
  /** Unmeasured warm-up, ms (JIT, connection pool, JWT cache). */
  warmupMs?: number;
}

/**
 * Runs `fn` from `concurrency` loops for `durationMs` and returns completed calls per second.
 * Calls in flight when the window ends are awaited but not counted.
 */
export async function throughput(fn: () => Promise<unknown>, options: ThroughputOptions): Promise<number> {
  const loop = async (until: number, count: { n: number }) => {
    while (performance.now() < until) {
      await fn();
      if (performance.now() <= until) count.n++;
    }
  };
  const run = async (ms: number) => {
    const count = { n: 0 };
    const start = performance.now();
    const until = start + ms;
    await Promise.all(Array.from({ length: options.concurrency }, () => loop(until, count)));
    return (count.n * 1000) / ms;
  };
  if ((options.warmupMs ?? 0) > 0) await run(options.warmupMs ?? 0);
  return run(options.durationMs);
}

/** Median of numbers (for repeated rounds). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs the rounds alternating A and B (so drift hits both alike) and returns each side's median. */
export async function alternate(
  rounds: number,
  a: () => Promise<number>,
  b: () => Promise<number>,
): Promise<[number, number]> {
  const as: number[] = [];
  const bs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    as.push(await a());
    bs.push(await b());
  }
  return [median(as), median(bs)];
}

/**
 * Times the tasks in `rounds` separate tinybench runs and keeps each task's median round:
 * on a shared 2-core machine a burst of other work then skews one round, not the result.
 */
export async function timeTasksRounds(
  tasks: Record<string, () => unknown>,
  rounds: number,
  options: TimeOptions = {},
): Promise<Record<string, Timing>> {
  const all: Record<string, Timing>[] = [];
  for (let i = 0; i < rounds; i++) all.push(await timeTasks(tasks, options));
  const out: Record<string, Timing> = {};
  for (const name of Object.keys(tasks)) {
    const byMean = all.map((r) => r[name]!).sort((a, b) => a.meanNs - b.meanNs);
    out[name] = { ...byMean[Math.floor(byMean.length / 2)]!, samples: byMean.reduce((sum, t) => sum + t.samples, 0) };
  }
  return out;
}
