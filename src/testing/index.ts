/**
 * `vonage-messenger/testing`: a local Messages API sandbox, webhook signing and event
 * builders. No peer dependencies: the store conformance suite (needs vitest) lives at
 * `vonage-messenger/testing/stores` and the msw handlers at `vonage-messenger/testing/msw`.
 *
 * @module
 */
export * from './builders.js';
export * from './sandbox.js';
export * from './sign.js';
