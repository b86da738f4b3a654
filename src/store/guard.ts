/**
 * Store calls go through here so that any failure of a backend (refused connection, timeout,
 * a bug in a user's store) reaches the caller as one typed `StoreError`, and the SDK can fail
 * closed: when the rules cannot be checked, nothing is sent.
 *
 * @module
 */
import { StoreError } from '../errors.js';

/** Runs one store operation; rethrows any failure as `StoreError` with the cause attached. */
export async function callStore<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof StoreError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new StoreError(`Session store failed during ${operation}: ${detail}`, { cause: error });
  }
}
