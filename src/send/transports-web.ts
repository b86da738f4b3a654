/**
 * The transports of the Workers build (export conditions `workerd`, `worker`, `browser`,
 * `edge-light`): `fetch` only. `'http'` maps to it too, so that the same options work on
 * Node and in a Worker; `'vonage-sdk'` needs Node and is refused with the alternative.
 *
 * @module
 */
import { ValidationError } from '../errors.js';
import { createFetchTransport } from './fetch-transport.js';
import type { Transport, TransportOptions } from './transport.js';
import type { TransportName } from './transports.js';

/** What `createMessenger` uses when `transport` is not set: there is no `node:http` here. */
export const DEFAULT_TRANSPORT: TransportName = 'fetch';

/** The factory behind a `transport` option value. */
export function transportFor(name: TransportName): (options: TransportOptions) => Transport {
  if (name === 'vonage-sdk') {
    throw new ValidationError(
      "transport 'vonage-sdk' needs Node (the @vonage/messages client); in this runtime use 'fetch' (the default)",
      [{ path: 'transport', message: "'vonage-sdk' is not available in this runtime" }],
    );
  }
  return createFetchTransport;
}
