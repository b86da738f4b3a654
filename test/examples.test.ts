import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { start as startExpressBot } from '../examples/express-bot.js';
import { start as startHonoBot } from '../examples/hono-bot.js';
import { createSandbox, type Sandbox } from '../src/testing/sandbox.js';

const SECRET = 'examples-secret';
const APP_ID = randomUUID();
const PAGE = '102290129340398';
const USER = '25381719828140932';
const HOUR = 60 * 60 * 1000;
const keys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

const examples = [
  ['examples/express-bot.ts', startExpressBot],
  ['examples/hono-bot.ts', startHonoBot],
] as const;

for (const [name, start] of examples) {
  describe(name, () => {
    let sandbox: Sandbox;
    let bot: Awaited<ReturnType<typeof start>>;

    beforeEach(async () => {
      sandbox = await createSandbox({
        signatureSecret: SECRET,
        applicationId: APP_ID,
        publicKey: keys.publicKey,
        now: () => new Date('2026-06-01T09:00:00Z'),
      });
      bot = await start({
        port: 0,
        apiHost: sandbox.url,
        now: sandbox.now,
        applicationId: APP_ID,
        privateKey: keys.privateKey,
        signatureSecret: SECRET,
      });
      sandbox.webhookUrl = `${bot.url}/webhooks/inbound`;
      sandbox.statusUrl = `${bot.url}/webhooks/status`;
    });
    afterEach(async () => {
      await sandbox.settled();
      await bot.close();
      await sandbox.close();
    });

    const agentReply = async (body: unknown) => {
      const response = await fetch(`${bot.url}/agent/reply`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };

    it('replies to a user message, and the reply is delivered', async () => {
      expect(await sandbox.userSays({ page: PAGE, psid: USER, text: 'Where is my order?' })).toBe(200);
      await sandbox.settled();
      const sent = sandbox.requests.filter((r) => r.status === 202);
      expect(sent).toHaveLength(1);
      expect(sent[0]?.message).toMatchObject({
        from: PAGE,
        to: USER,
        category: 'response',
        text: 'You said: "Where is my order?". An agent will follow up.',
      });
      expect(sent[0]?.verdict).toEqual({ delivered: true });
      // The status webhooks reached the bot and were verified (200).
      const statuses = sandbox.webhooks.filter((w) => w.kind === 'status');
      expect(statuses.map((w) => [w.status, w.responseStatus])).toEqual([
        ['submitted', 200],
        ['delivered', 200],
        ['read', 200],
      ]);
    });

    it("uses canSend to send an agent's answer as a plain reply, then as a HUMAN_AGENT handoff, then not at all", async () => {
      await sandbox.userSays({ page: PAGE, psid: USER, text: 'I need a person' });
      const message = { pageId: PAGE, psid: USER, text: 'Hi, Sam here.' };

      expect((await agentReply(message)).status).toBe(200);
      expect(sandbox.requests.at(-1)?.message).toMatchObject({ category: 'response' });

      sandbox.advance(25 * HOUR);
      const handoff = await agentReply(message);
      expect(handoff.status).toBe(200);
      expect(handoff.body).toMatchObject({ category: 'message_tag', tag: 'HUMAN_AGENT' });
      expect(sandbox.requests.at(-1)?.message).toMatchObject({ category: 'message_tag', tag: 'HUMAN_AGENT' });
      await sandbox.settled();
      expect(sandbox.requests.at(-1)?.verdict).toEqual({ delivered: true });

      sandbox.advance(6 * 24 * HOUR); // 7 days and 1 hour after the user wrote
      const before = sandbox.requests.length;
      const refused = await agentReply(message);
      expect(refused.status).toBe(409);
      expect(refused.body.reason).toBe('tag_window_closed');
      expect(sandbox.requests).toHaveLength(before);
    });

    it('answers 400 to an agent reply without a valid PSID', async () => {
      const before = sandbox.requests.length;
      expect((await agentReply({ pageId: PAGE, psid: 'not-a-psid', text: 'hi' })).status).toBe(400);
      expect(sandbox.requests).toHaveLength(before);
    });
  });
}
