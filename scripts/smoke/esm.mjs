// `import` consumer: every entry through the package's "exports" import conditions.
import * as root from 'vonage-messenger';
import * as d1 from 'vonage-messenger/d1';
import * as postgres from 'vonage-messenger/postgres';
import * as redis from 'vonage-messenger/redis';
import * as sqlite from 'vonage-messenger/sqlite';
import * as testing from 'vonage-messenger/testing';
import * as msw from 'vonage-messenger/testing/msw';
import * as stores from 'vonage-messenger/testing/stores';
import core from './core.cjs';

await core.run('esm', root, testing, { redis, postgres, sqlite, d1, 'testing/msw': msw, 'testing/stores': stores });
