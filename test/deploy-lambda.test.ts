/**
 * The AWS Lambda recipe of docs/deploy.md, run as a user pastes it: its code block is taken
 * from the page, its package imports pointed at src/, and its `handler` called with payload
 * format 2.0 events as a function URL delivers them (header names in lower case, a body
 * base64-encoded or not). Its PostgreSQL database is a fresh one, migrated as the page says;
 * msw answers for the Messages API, so nothing leaves the machine.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setupServer } from 'msw/node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresSchemaSql } from '../src/store/postgres.js';
import { inboundText } from '../src/testing/builders.js';
import { type MockedSend, messengerHandlers } from '../src/testing/msw.js';
import { signWebhook } from '../src/testing/sign.js';
import { connectPostgres, PG_CONFIG, runId } from './stores/services.js';

const ROOT = join(import.meta.dirname, '..');
const PAGE = '102290129340398';
const USER = '25381719828140932';
const SECRET = 'lambda-recipe-secret';
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

const sends: MockedSend[] = [];
const mswServer = setupServer(...messengerHandlers({ onSend: (send) => void sends.push(send) }));
// The recipe's Pool lives in its module; each one made is kept here so that it can be ended.
const pools: pg.Pool[] = [];
const OriginalPool = pg.Pool;
const database = `vm_lambda_${runId()}`;
const recipeFile = join(ROOT, '.tmp', `lambda-recipe-${runId()}.ts`);
const admin = await connectPostgres();
let handler: Handler;

beforeAll(async () => {
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
  process.env.VONAGE_APPLICATION_ID = APP_ID;
  process.env.VONAGE_PRIVATE_KEY = privateKey;
  process.env.VONAGE_SIGNATURE_SECRET = SECRET;
  process.env.DATABASE_URL = `postgres://${PG_CONFIG.user}@${PG_CONFIG.host}:${PG_CONFIG.port}/${database}`;

  const page = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
  const recipe = codeBlockAfter(page, '## AWS Lambda (function URL or API Gateway HTTP API)')
    .replaceAll("from 'vonage-messenger'", "from '../src/index.js'")
    .replaceAll("from 'vonage-messenger/postgres'", "from '../src/store/postgres.js'");
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  writeFileSync(recipeFile, recipe);
  mswServer.listen({ onUnhandledRequest: 'error' });
  ({ handler } = (await import(recipeFile)) as { handler: Handler });
});

afterAll(async () => {
  mswServer.close();
  pg.Pool = OriginalPool;
  await Promise.all(pools.map((pool) => pool.end()));
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
  rmSync(recipeFile, { force: true });
});

describe('docs/deploy.md, AWS Lambda recipe', () => {
  it('answers a signed webhook 200 and replies through the Messages API', async () => {
    const signed = signWebhook(inboundText({ pageId: PAGE, psid: USER, text: 'Where is my order?' }), SECRET, {
      applicationId: APP_ID,
    });
    const answer = await handler(functionUrlEvent(signed, false));
    expect(answer.statusCode).toBe(200);
    expect(sends).toHaveLength(1);
    expect(sends[0]?.body).toMatchObject({ from: PAGE, to: USER, text: 'You said: Where is my order?' });
    expect(sends[0]?.request.headers.get('authorization')).toMatch(/^Bearer /);
  });

  it('reads a base64-encoded body as the bytes Vonage signed', async () => {
    const signed = signWebhook(inboundText({ pageId: PAGE, psid: USER, text: 'Ça arrive quand ?' }), SECRET, {
      applicationId: APP_ID,
    });
    const before = sends.length;
    const answer = await handler(functionUrlEvent(signed, true));
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
    const forged = signWebhook(inboundText({ pageId: PAGE, psid: USER, text: 'forged' }), 'another-secret', {
      applicationId: APP_ID,
    });
    const before = sends.length;
    const answer = await handler(functionUrlEvent(forged, false));
    expect(answer.statusCode).toBe(401);
    expect(answer.headers['content-type']).toMatch(/json/);
    expect(sends.length).toBe(before);
  });
});
