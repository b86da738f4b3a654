// `require` consumer: every entry that needs no optional peer, through the "exports" require conditions.
'use strict';
const { run } = require('./core.cjs');

run('cjs', require('vonage-messenger'), require('vonage-messenger/testing'), {
  redis: require('vonage-messenger/redis'),
  postgres: require('vonage-messenger/postgres'),
  sqlite: require('vonage-messenger/sqlite'),
  d1: require('vonage-messenger/d1'),
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
