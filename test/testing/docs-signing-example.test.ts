// Runs the "Signing webhooks yourself" block of docs/testing.md as written (its import line
// aside): a copy here could stay right while the doc went wrong, as it once did by leaving
// out applicationId, which a messenger created with one refuses (wrong_application).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createMessenger } from '../../src/index.js';
import * as testing from '../../src/testing/index.js';

const DOC = readFileSync(join(import.meta.dirname, '../../docs/testing.md'), 'utf8');

/** The first ```ts block after the heading. */
function block(heading: string): string {
  const section = DOC.slice(DOC.indexOf(`## ${heading}`));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (code === undefined) throw new Error(`docs/testing.md has no ts block under "${heading}"`);
  return code;
}

const code = block('Signing webhooks yourself');
const applicationId = randomUUID();
const signatureSecret = 'docs-signing-secret';
const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
// The messenger the doc's text speaks of: one created with an application.
const messenger = createMessenger({ applicationId, privateKey, signatureSecret });

afterAll(() => messenger.close());

it('imports only what the testing kit exports', () => {
  const imports = [...code.matchAll(/^import \{ ([^}]+) \} from 'vonage-messenger\/testing';$/gm)];
  expect(imports).toHaveLength(1);
  for (const name of imports[0]?.[1]?.split(',') ?? []) expect(testing).toHaveProperty(name.trim());
});

it('receives the signed message, and each hostile line gets the reason its comment names', async () => {
  const signed: testing.SignedWebhook[] = [];
  const signWebhook: typeof testing.signWebhook = (...args) => {
    const result = testing.signWebhook(...args);
    signed.push(result);
    return result;
  };
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
    ...args: string[]
  ) => (...values: unknown[]) => Promise<unknown>;
  const names = ['messenger', 'page', 'user', 'applicationId', 'signatureSecret', 'inboundText', 'signWebhook'];
  // The block is plain JavaScript once its import is gone; it ends by returning its `event`.
  const run = new AsyncFunction(...names, `${code.replace(/^import .*$/gm, '')}\nreturn event;`);
  const event = await run(
    messenger,
    '102290129340398',
    '25381719828140932',
    applicationId,
    signatureSecret,
    testing.inboundText,
    signWebhook,
  );
  expect(event).toMatchObject({ kind: 'message', text: 'hi', pageId: '102290129340398' });

  const reasons = [...code.matchAll(/^signWebhook\(.*\/\/ (\w+)\s*$/gm)].map((match) => match[1]);
  expect(reasons).toEqual(['bad_signature', 'stale_token', 'payload_hash_mismatch', 'wrong_application']);
  expect(signed).toHaveLength(1 + reasons.length);
  for (const [index, reason] of reasons.entries()) {
    const hostile = signed[index + 1];
    await expect(
      messenger.receive({ headers: hostile?.headers ?? {}, body: hostile?.body ?? '' }),
    ).rejects.toMatchObject({ name: 'WebhookVerificationError', reason });
  }
});
