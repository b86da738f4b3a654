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
    throw storeError(operation, error);
  }
}

/**
 * The `StoreError` a failure of one store operation becomes (a `StoreError` stays as it is).
 * For hot paths that await a store call in their own `try` instead of through
 * {@link callStore}, which costs one more promise per call.
 */
export function storeError(operation: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new StoreError(`Session store failed during ${operation}: ${detail}`, { cause: error });
}
