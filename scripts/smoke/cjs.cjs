// `require` consumer: every entry through the package's "exports" require conditions.
'use strict';
const root = require('vonage-messenger');
const testing = require('vonage-messenger/testing');
const { run } = require('./core.cjs');

run('cjs', root, testing, {
  redis: require('vonage-messenger/redis'),
  postgres: require('vonage-messenger/postgres'),
  sqlite: require('vonage-messenger/sqlite'),
  'testing/msw': require('vonage-messenger/testing/msw'),
  'testing/stores': require('vonage-messenger/testing/stores'),
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
