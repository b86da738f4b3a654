// The subpaths built on an optional peer, from `require`, once msw and vitest are linked.
'use strict';
const msw = require('vonage-messenger/testing/msw');

if (typeof msw.messengerHandlers !== 'function') throw new Error('smoke: cjs: testing/msw lacks messengerHandlers()');

// vitest refuses to be require()d ("Vitest cannot be imported in a CommonJS module"), so the
// conformance suite can only be loaded from ESM (peers.mjs does). Here its CJS entry must
// resolve through the exports map, and loading it must fail with vitest's own message.
const storesPath = require.resolve('vonage-messenger/testing/stores');
if (!storesPath.endsWith('testing-stores.cjs')) throw new Error(`smoke: cjs: testing/stores resolved to ${storesPath}`);
let storesError;
try {
  require(storesPath);
} catch (error) {
  storesError = error;
}
if (storesError !== undefined && !/Vitest cannot be imported in a CommonJS module/.test(String(storesError.message))) {
  throw storesError;
}
console.log('smoke cjs: ok (testing/msw and testing/stores with their peers)');

const otel = require('vonage-messenger/otel');
const disableOtel = otel.enableOpenTelemetry();
if (typeof disableOtel !== 'function') throw new Error('smoke: cjs: enableOpenTelemetry() returned no unsubscribe');
disableOtel();
console.log('smoke cjs: ok (otel with @opentelemetry/api)');
