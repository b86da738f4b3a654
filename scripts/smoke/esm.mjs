// `import` consumer: every entry that needs no optional peer, through the "exports" import conditions.
import * as root from 'vonage-messenger';
import * as d1 from 'vonage-messenger/d1';
import * as postgres from 'vonage-messenger/postgres';
import * as redis from 'vonage-messenger/redis';
import * as sqlite from 'vonage-messenger/sqlite';
import * as testing from 'vonage-messenger/testing';
import core from './core.cjs';

await core.run('esm', root, testing, { redis, postgres, sqlite, d1 });
