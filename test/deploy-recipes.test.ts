/**
 * Recipes of docs/deploy.md, run as a user pastes them: each code block is taken from the
 * page, its package imports pointed at src/, and the module loaded. msw answers for the
 * Messages API, so nothing leaves the machine.
 * - AWS Lambda: its `handler` called with payload format 2.0 events as a function URL
 *   delivers them (header names in lower case, a body base64-encoded or not), on a fresh
 *   PostgreSQL database migrated as the page says.
 * - Fastify: its `app` listening on a free port, webhooks posted over HTTP.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { setupServer } from 'msw/node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresSchemaSql } from '../src/store/postgres.js';
import { inboundText, messageStatus } from '../src/testing/builders.js';
import { type MockedSend, messengerHandlers } from '../src/testing/msw.js';
import { signWebhook } from '../src/testing/sign.js';
import { connectPostgres, PG_CONFIG, runId } from './stores/services.js';

const ROOT = join(import.meta.dirname, '..');
const PAGE = '102290129340398';
const USER = '25381719828140932';
const SECRET = 'deploy-recipe-secret';
const APP_ID = randomUUID();
const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

/** The first ```ts block after `heading` in a Markdown page. */
function codeBlockAfter(markdown: string, heading: string): string {
  const at = markdown.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`docs/deploy.md has no "${heading}" section`);
  const start = markdown.indexOf('```ts\n', at);
  const end = markdown.indexOf('\n```\n', start);
  return markdown.slice(start + '```ts\n'.length, end + 1);
}

const written: string[] = [];
/** Loads the recipe under `heading`, its package imports pointed at src/. */
async function loadRecipe<T>(heading: string): Promise<T> {
  const recipe = codeBlockAfter(readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8'), heading)
    .replaceAll("from 'vonage-messenger'", "from '../src/index.js'")
    .replaceAll("from 'vonage-messenger/postgres'", "from '../src/store/postgres.js'");
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  const file = join(ROOT, '.tmp', `deploy-recipe-${runId()}.ts`);
  writeFileSync(file, recipe);
  written.push(file);
  return (await import(file)) as T;
}

const sends: MockedSend[] = [];
const mswServer = setupServer(...messengerHandlers({ onSend: (send) => void sends.push(send) }));

beforeAll(() => {
  process.env.VONAGE_APPLICATION_ID = APP_ID;
  process.env.VONAGE_PRIVATE_KEY = privateKey;
  process.env.VONAGE_SIGNATURE_SECRET = SECRET;
  // Loopback requests are the recipes' own servers; only the Messages API is mocked.
  mswServer.listen({
    onUnhandledRequest: (request, print) => {
      if (new URL(request.url).hostname !== '127.0.0.1') print.error();
    },
  });
});
afterAll(() => {
  mswServer.close();
  for (const file of written) rmSync(file, { force: true });
});

const signedText = (text: string, secret = SECRET) =>
  signWebhook(inboundText({ pageId: PAGE, psid: USER, text }), secret, { applicationId: APP_ID });

interface LambdaAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}
type Handler = (event: unknown) => Promise<LambdaAnswer>;

/** A function URL's payload format 2.0 event carrying a signed webhook, as the recipe reads it. */
function functionUrlEvent(signed: { headers: Record<string, string>; body: string }, base64: boolean) {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) headers[name.toLowerCase()] = value;
  return {
    version: '2.0',
    rawPath: '/webhooks/inbound',
    headers: { ...headers, host: 'abc.lambda-url.eu-west-1.on.aws' },
    body: base64 ? Buffer.from(signed.body).toString('base64') : signed.body,
    isBase64Encoded: base64,
    requestContext: { http: { method: 'POST', path: '/webhooks/inbound' } },
  };
}

describe('docs/deploy.md, AWS Lambda recipe', () => {
  // The recipe's Pool lives in its module; each one made is kept here so that it can be ended.
  const pools: pg.Pool[] = [];
  const OriginalPool = pg.Pool;
  const database = `vm_lambda_${runId()}`;
  let admin: pg.Pool;
  let handler: Handler;

  beforeAll(async () => {
    admin = await connectPostgres();
    await admin.query(`CREATE DATABASE ${database}`);
    const migrated = new pg.Pool({ ...PG_CONFIG, database });
    await migrated.query(postgresSchemaSql());
    await migrated.end();
    pg.Pool = class extends OriginalPool {
      constructor(config?: pg.PoolConfig) {
        super(config);
        pools.push(this);
      }
    };
    process.env.DATABASE_URL = `postgres://${PG_CONFIG.user}@${PG_CONFIG.host}:${PG_CONFIG.port}/${database}`;
    ({ handler } = await loadRecipe<{ handler: Handler }>('## AWS Lambda (function URL or API Gateway HTTP API)'));
  });
  afterAll(async () => {
    pg.Pool = OriginalPool;
    await Promise.all(pools.map((pool) => pool.end()));
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('answers a signed webhook 200 and replies through the Messages API', async () => {
    const before = sends.length;
    const answer = await handler(functionUrlEvent(signedText('Where is my order?'), false));
    expect(answer.statusCode).toBe(200);
    expect(sends.length - before).toBe(1);
    expect(sends.at(-1)?.body).toMatchObject({ from: PAGE, to: USER, text: 'You said: Where is my order?' });
    expect(sends.at(-1)?.request.headers.get('authorization')).toMatch(/^Bearer /);
  });

  it('reads a base64-encoded body as the bytes Vonage signed', async () => {
    const before = sends.length;
    const answer = await handler(functionUrlEvent(signedText('Ça arrive quand ?'), true));
    expect(answer.statusCode).toBe(200);
    expect(sends.slice(before).map((send) => send.body.text)).toEqual(['You said: Ça arrive quand ?']);
  });

  it('answers a copy of a delivered webhook 200 without replying again', async () => {
    const body = inboundText({ pageId: PAGE, psid: USER, text: 'Twice?' });
    const before = sends.length;
    expect(
      (await handler(functionUrlEvent(signWebhook(body, SECRET, { applicationId: APP_ID }), false))).statusCode,
    ).toBe(200);
    // Vonage's retry: the same message, a fresh token.
    expect(
      (await handler(functionUrlEvent(signWebhook(body, SECRET, { applicationId: APP_ID }), true))).statusCode,
    ).toBe(200);
    expect(sends.length - before).toBe(1);
  });

  it('answers a forged webhook 401 and sends nothing', async () => {
    const before = sends.length;
    const answer = await handler(functionUrlEvent(signedText('forged', 'another-secret'), false));
    expect(answer.statusCode).toBe(401);
    expect(answer.headers['content-type']).toMatch(/json/);
    expect(sends.length).toBe(before);
  });
});

describe('docs/deploy.md, Fastify recipe', () => {
  let app: { close(): Promise<void>; server: { address(): unknown } };
  let url: string;

  beforeAll(async () => {
    process.env.PORT = '0';
    ({ app } = await loadRecipe<{ app: typeof app }>('## Fastify on Node'));
    const { port } = app.server.address() as { port: number };
    url = `http://127.0.0.1:${port}`;
  });
  afterAll(() => app.close());

  const post = (path: string, signed: { headers: Record<string, string>; body: string }) =>
    fetch(`${url}${path}`, { method: 'POST', headers: signed.headers, body: signed.body });

  it('answers a signed webhook 200 and replies through the Messages API', async () => {
    const before = sends.length;
    expect((await post('/webhooks/inbound', signedText('Where is my parcel?'))).status).toBe(200);
    expect(sends.slice(before).map((send) => send.body.text)).toEqual(['You said: Where is my parcel?']);
  });

  it('verifies the exact bytes: a body Fastify would re-serialise differently still passes', async () => {
    // Spaces and key order that JSON.parse + JSON.stringify would not keep.
    const body = JSON.stringify(inboundText({ pageId: PAGE, psid: USER, text: 'spaced' }), null, 2);
    const before = sends.length;
    const answer = await post('/webhooks/inbound', signWebhook(body, SECRET, { applicationId: APP_ID }));
    expect(answer.status).toBe(200);
    expect(sends.length - before).toBe(1);
  });

  it('refuses a request with two Authorization headers (401), whichever comes first', async () => {
    const signed = signedText('two tokens');
    const before = sends.length;
    for (const order of [
      [signed.headers.authorization, 'Bearer a.b.c'],
      ['Bearer a.b.c', signed.headers.authorization],
    ] as const) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(`${url}/webhooks/inbound`, { method: 'POST' });
        req.setHeader('content-type', 'application/json');
        req.setHeader('authorization', order); // two header lines: fetch would fold them into one
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end(signed.body);
      });
      expect(status).toBe(401);
    }
    expect(sends.length).toBe(before);
  });

  it('answers a status webhook on /webhooks/status 200, and a forged one 401 without sending', async () => {
    const status = messageStatus({ pageId: PAGE, psid: USER, status: 'delivered' });
    expect((await post('/webhooks/status', signWebhook(status, SECRET, { applicationId: APP_ID }))).status).toBe(200);
    const before = sends.length;
    expect((await post('/webhooks/status', signedText('forged', 'another-secret'))).status).toBe(401);
    expect(sends.length).toBe(before);
  });
});
