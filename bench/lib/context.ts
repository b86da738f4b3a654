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

/**
 * Loads an export from a module other people are writing; `undefined` while the module is
 * still a placeholder (so the bench reports "not measured" instead of crashing).
 */
export async function loadExport<T>(specifier: string, name: string): Promise<T | undefined> {
  const mod = (await import(specifier)) as Record<string, unknown>;
  return typeof mod[name] === 'function' ? (mod[name] as T) : undefined;
}

/** A 15-digit Page ID and 16-digit PSIDs, the shapes Meta uses. */
export const PAGE_ID = '107329271234567';
export function psidFor(n: number): string {
  return String(7_000_000_000_000_000 + n);
}
