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

    const windows = async (query: string) => {
      const response = await fetch(`${bot.url}/windows${query}`);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };

    it('lists the conversations whose window closes within ?within=2h, as JSON for a dashboard, a page at a time', async () => {
      expect(await sandbox.userSays({ page: PAGE, psid: USER, text: 'Hello?' })).toBe(200);
      await sandbox.settled();
      expect(await windows('?within=2h')).toEqual({ status: 200, body: { conversations: [] } });
      sandbox.advance(22 * HOUR + 30 * 60_000); // 1 h 29 min before the window closes
      expect(await windows('?within=2h')).toEqual({
        status: 200,
        body: {
          conversations: [
            {
              pageId: PAGE,
              psid: USER,
              window: 'standard',
              closesAt: '2026-06-02T08:59:00.000Z',
              lastInboundAt: '2026-06-01T09:00:00.000Z',
            },
          ],
        },
      });
      const first = await windows('?within=7d&limit=1');
      expect(first.body.conversations).toMatchObject([{ window: 'standard' }]);
      expect(first.body.cursor).toEqual(expect.any(String));
      const next = await windows(`?within=7d&limit=1&cursor=${first.body.cursor}`);
      expect(next.body.conversations).toMatchObject([{ window: 'human_agent', closesAt: '2026-06-08T08:59:00.000Z' }]);
      expect((await windows(`?within=7d&windows=human_agent&pageId=${PAGE}`)).body.conversations).toHaveLength(1);
    });

    it("answers 400 with the ValidationError's message to a bad duration, limit, window or cursor", async () => {
      const cases: [string, string][] = [
        ['', 'within must be a duration such as 30m, 2h or 1d'],
        ['?within=2%20hours', 'within must be a duration such as 30m, 2h or 1d'],
        ['?within=-2h', 'within must be a duration such as 30m, 2h or 1d'],
        ['?within=0m', 'within must be positive'],
        ['?within=2h&limit=5000', 'limit must be at most 1000'],
        ['?within=2h&windows=promo', 'windows may hold only standard, human_agent'],
        ['?within=2h&cursor=forged', 'cursor is not a cursor of expiringSoon'],
        ['?within=2h&pageId=abc', 'Page ID must contain only the digits 0-9'],
        // A repeated pageId must not drop the filter and list every Page.
        [`?within=2h&pageId=${PAGE}&pageId=100841475479486`, 'pageId must be given once'],
        ['?within=2h&within=3h', 'within must be given once'],
        ['?within=2h&limit=1e3', 'limit must be a whole number'],
        ['?within=2h&limit=0x10', 'limit must be a whole number'],
        ['?within=2h&limit=', 'limit must be a whole number'],
      ];
      for (const [query, message] of cases) {
        const answer = await windows(query);
        expect(answer.status, query).toBe(400);
        expect(answer.body.error, query).toContain(message);
      }
    });

    it('answers 400 to an agent reply without a valid PSID', async () => {
      const before = sandbox.requests.length;
      expect((await agentReply({ pageId: PAGE, psid: 'not-a-psid', text: 'hi' })).status).toBe(400);
      expect(sandbox.requests).toHaveLength(before);
    });
  });
}
