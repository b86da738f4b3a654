// The shared stores under Bun and Deno (scripts/runtimes.sh): `vonage-messenger/redis` with
// ioredis and `vonage-messenger/postgres` with pg, both installed from npm into the consumer
// project, against the local Redis and PostgreSQL; `vonage-messenger/sqlite` on the runtime's
// own SQLite (bun:sqlite, node:sqlite), given only a file name. Two messengers on one store (for
// SQLite, two stores on one file) stand for two instances of a fleet behind the runtime's own
// server (Bun.serve / Deno.serve). Checked: the
// window the first instance's webhook opens lets the second one reply (202 from the sandbox),
// a copy of that webhook is answered 200 without a second callback, and the conversation is
// listed by `expiringSoon` on the second instance.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createMessenger, WindowClosedError } from 'vonage-messenger';
import { postgresStore } from 'vonage-messenger/postgres';
import { redisStore } from 'vonage-messenger/redis';
import { sqliteStore } from 'vonage-messenger/sqlite';
import { createSandbox, inboundText, signWebhook } from 'vonage-messenger/testing';
import { check, runtime, serve } from './host.mjs';
import { rsaKeys } from './keys.mjs';

const PAGE = '107329271234567';
const USER = '7000000000000001';
const run = crypto.randomUUID().replaceAll('-', '').slice(0, 10);

/** Each store as a user would open it, and how its data is removed afterwards. */
const stores = {
  async redis() {
    const client = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
    const prefix = `vm-runtimes:${run}:`;
    return {
      store: redisStore({ client, prefix }),
      async drop() {
        let cursor = '0';
        do {
          const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await client.unlink(...keys);
        } while (cursor !== '0');
        await client.quit();
      },
    };
  },
  async postgres() {
    const pool = new pg.Pool({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test', max: 4 });
    const schema = `vm_runtimes_${run}`;
    await pool.query(`CREATE SCHEMA ${schema}`);
    const store = postgresStore({ pool, schema });
    await store.createTables();
    return {
      store,
      async drop() {
        await pool.query(`DROP SCHEMA ${schema} CASCADE`);
        await pool.end();
      },
    };
  },
  async sqlite() {
    const dir = await mkdtemp(join(tmpdir(), 'vm-runtimes-'));
    const file = join(dir, 'messenger.db');
    // Two connections to one file, as two processes on one host have: no driver named, so
    // each opens it with the runtime's own SQLite.
    const store = sqliteStore({ database: file });
    const other = sqliteStore({ database: file });
    return {
      store,
      other,
      async drop() {
        await store.close();
        await other.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
};

const { privateKey, publicKey } = await rsaKeys();
const signatureSecret = crypto.randomUUID();
const applicationId = crypto.randomUUID();

for (const name of (process.argv[2] ?? 'redis,postgres,sqlite').split(',')) {
  const open = stores[name];
  check(open !== undefined, `unknown store ${name}`);
  const { store, other = store, drop } = await open();
  const sandbox = await createSandbox({ signatureSecret, applicationId, publicKey });
  const options = { applicationId, privateKey, signatureSecret, apiHost: sandbox.url, store };
  const first = createMessenger(options);
  const second = createMessenger({ ...options, store: other });
  let callbacks = 0;
  const bot = serve(
    first.webhookHandler({
      onMessage() {
        callbacks++;
      },
    }),
  );
  try {
    sandbox.webhookUrl = `${bot.url}/webhooks/inbound`;

    const early = await second.sendText({ from: PAGE, to: USER, text: 'hello?' }).catch((error) => error);
    check(early instanceof WindowClosedError, `a send before the user wrote gave ${early}`);

    const messageUuid = crypto.randomUUID();
    const webhook = () =>
      signWebhook(inboundText({ pageId: PAGE, psid: USER, text: 'Where is my order?', messageUuid }), signatureSecret, {
        applicationId,
      });
    const post = ({ headers, body }) => fetch(sandbox.webhookUrl, { method: 'POST', headers, body });
    const answered = await post(webhook());
    check(answered.status === 200, `the signed webhook was answered ${answered.status}`);

    // The other instance reads the window from the store.
    const reply = await second.sendText({ from: PAGE, to: USER, text: 'It ships today.' });
    const sent = sandbox.requests.filter((r) => r.method === 'POST' && r.path === '/v1/messages');
    check(sent.length === 1 && sent[0].status === 202, `the sandbox saw ${JSON.stringify(sent.map((r) => r.status))}`);
    check(sent[0].messageUuid === reply.messageUuid, 'the reply uuid differs from the sandbox one');

    // Vonage's retry of the same message, with a fresh signature: answered, not delivered again.
    const copy = await post(webhook());
    check(copy.status === 200, `the copy was answered ${copy.status}`);
    check(callbacks === 1, `onMessage ran ${callbacks} times for one message`);

    const { conversations } = await second.expiringSoon({ within: 25 * 3_600_000, pageId: PAGE });
    check(
      conversations.some((c) => c.psid === USER && c.window === 'standard'),
      `expiringSoon listed ${JSON.stringify(conversations)}`,
    );
    await sandbox.settled();
    console.log(
      `${runtime} (${name} store): ok: window shared by two instances, reply ${reply.messageUuid} accepted (202), copy answered 200 without a callback, listed by expiringSoon`,
    );
  } finally {
    await bot.close();
    await first.close();
    await second.close();
    await sandbox.close();
    await drop();
  }
}
// Deno keeps the process alive while handles linger; the checks above are done.
process.exit(0);
