// `require` consumer: every entry through the package's "exports" require conditions.
'use strict';
const root = require('vonage-messenger');
const testing = require('vonage-messenger/testing');
const { run } = require('./core.cjs');

// vitest refuses to be require()d ("Vitest cannot be imported in a CommonJS module"), so the
// conformance suite can only be loaded from ESM (esm.mjs does). Here its CJS entry must
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

run('cjs', root, testing, {
  redis: require('vonage-messenger/redis'),
  postgres: require('vonage-messenger/postgres'),
  sqlite: require('vonage-messenger/sqlite'),
  d1: require('vonage-messenger/d1'),
  'testing/msw': require('vonage-messenger/testing/msw'),
  'testing/stores': { describeSessionStore: () => {} },
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
