/**
 * Side-by-side measurement in short alternating slices: each pair runs a slice of `a` and a
 * slice of `b`, alternating which goes first, and the figure is the median of the per-pair
 * ratios. Slices of a few milliseconds put both sides under the same load, so the ratio holds
 * on a shared machine where absolute times move between runs.
 */
import { median } from './measure.js';

/** CPU and wall µs per operation of one slice. */
export interface Sample {
  cpu: number;
  wall: number;
}

export interface Sides {
  /** Median CPU µs per operation of each side. */
  a: number;
  b: number;
  /** Median of the per-pair ratios a/b (CPU time), and their spread. */
  ratio: number;
  p25: number;
  p75: number;
  /** The same from wall time, for the notes (or the figure, where a server's time counts). */
  wallRatio: number;
  /** Quartiles of the per-pair wall-time ratios. */
  wallP25: number;
  wallP75: number;
  /** Median wall µs per operation of each side. */
  wallA: number;
  wallB: number;
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
};

/**
 * Times a slice in this process: CPU time per operation (`process.cpuUsage`) rather than wall
 * time: on a shared machine the process is descheduled for whole milliseconds, which wall
 * time counts and CPU time does not. `slice` resolves to the operations it ran.
 */
export const inProcess = (slice: () => Promise<number>) => async (): Promise<Sample> => {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  const ops = await slice();
  const used = process.cpuUsage(cpu);
  return { cpu: (used.user + used.system) / ops, wall: ((performance.now() - wall) * 1000) / ops };
};

/** Runs `pairs` pairs of slices and compares them pair by pair. */
export async function pairedSlices(pairs: number, a: () => Promise<Sample>, b: () => Promise<Sample>): Promise<Sides> {
  const as: number[] = [];
  const bs: number[] = [];
  const aWalls: number[] = [];
  const bWalls: number[] = [];
  const ratios: number[] = [];
  const wallRatios: number[] = [];
  for (let i = 0; i < pairs; i++) {
    let x: Sample;
    let y: Sample;
    if (i % 2 === 0) {
      x = await a();
      y = await b();
    } else {
      y = await b();
      x = await a();
    }
    as.push(x.cpu);
    bs.push(y.cpu);
    aWalls.push(x.wall);
    bWalls.push(y.wall);
    ratios.push(x.cpu / y.cpu);
    wallRatios.push(x.wall / y.wall);
  }
  return {
    a: median(as),
    b: median(bs),
    ratio: median(ratios),
    p25: quantile(ratios, 0.25),
    p75: quantile(ratios, 0.75),
    wallRatio: median(wallRatios),
    wallP25: quantile(wallRatios, 0.25),
    wallP75: quantile(wallRatios, 0.75),
    wallA: median(aWalls),
    wallB: median(bWalls),
  };
}
