/**
 * The transports of the Node build (Node, Bun, Deno): `node:http` by default. The Workers
 * build swaps this module for transports-web.ts (tsup.worker.config.ts), where `fetch` is
 * the default and `node:http` is never imported.
 *
 * @module
 */
import { ValidationError } from '../errors.js';
import { createFetchTransport } from './fetch-transport.js';
import { createTransport } from './http-transport.js';
import type { Transport, TransportOptions } from './transport.js';
import { createVonageSdkTransport } from './vonage-sdk-transport.js';

/** The names of the `transport` option. */
export type TransportName = 'http' | 'fetch' | 'vonage-sdk';

/** What `createMessenger` uses when `transport` is not set. */
export const DEFAULT_TRANSPORT: TransportName = 'http';

/** The factory behind a `transport` option value. */
export function transportFor(name: TransportName): (options: TransportOptions) => Transport {
  if (name === 'http') return createTransport;
  if (name === 'fetch') return createFetchTransport;
  if (name === 'vonage-sdk') return createVonageSdkTransport;
  throw new ValidationError(`Unknown transport ${String(name)}`, [{ path: 'transport', message: 'unknown' }]);
}
