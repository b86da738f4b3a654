/** What every section receives and fills in. */
import type { BenchCredentials } from './keys.js';
import type { Comparison, Pending } from './report.js';

export interface SectionContext {
  credentials: BenchCredentials;
  /** `--quick`: shorter windows, for checking that the harness runs (figures are noisier). */
  quick: boolean;
  comparisons: Comparison[];
  pending: Pending[];
  log(message: string): void;
}

/** A 15-digit Page ID and 16-digit PSIDs, the shapes Meta uses. */
export const PAGE_ID = '107329271234567';
export function psidFor(n: number): string {
  return String(7_000_000_000_000_000 + n);
}
