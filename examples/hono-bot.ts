/**
 * A Hono bot (Node server): replies to every message; POST /agent/reply sends a person's answer later, as a plain
 * reply in the 24-hour window, with the HUMAN_AGENT tag after it (7 days), or not at all (409 and the reason);
 * GET /windows?within=2h lists the conversations whose window closes within 2 hours, for an agent dashboard. Run it:
 *   VONAGE_APPLICATION_ID=… VONAGE_PRIVATE_KEY=./private.key VONAGE_SIGNATURE_SECRET=… npx tsx examples/hono-bot.ts
 */
import type { Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
// In your app: from 'vonage-messenger'.
import {
  type ClosingWindow,
  createMessenger,
  isMessengerError,
  isValidationError,
  type MessengerOptions,
} from '../src/index.js';
import { durationMs, limitFrom, once } from './duration.js';

export async function start(options: MessengerOptions & { port?: number; host?: string }) {
  const { port = 3000, host = '127.0.0.1', ...config } = options;
  const messenger = createMessenger(config);
  const webhooks = messenger.webhookHandler({
    async onMessage(event) {
      const text = event.type === 'text' ? `You said: "${event.text}". An agent will follow up.` : 'Thanks!';
      // A failed reply must not fail the webhook (Vonage would deliver the message again).
      await messenger.sendText({ from: event.pageId, to: event.psid, text }).catch(console.error);
    },
  });

  const app = new Hono();
  app.post('/webhooks/inbound', (c) => webhooks(c.req.raw)); // the raw Request: the signature covers its bytes
  app.post('/webhooks/status', (c) => webhooks(c.req.raw));
  app.post('/agent/reply', async (c) => {
    const { pageId: from, psid: to, text } = await c.req.json().catch(() => ({}));
    try {
      const plain = await messenger.canSend({ from, to });
      const handoff = plain.allowed ? plain : await messenger.canSend({ from, to, tag: 'HUMAN_AGENT' });
      if (!handoff.allowed) return c.json({ reason: handoff.reason, message: handoff.message }, 409);
      const tag = plain.allowed ? {} : { tag: 'HUMAN_AGENT' };
      return c.json(await messenger.sendText({ from, to, text, ...tag }));
    } catch (error) {
      const status = isMessengerError(error) && error.code === 'VALIDATION_ERROR' ? 400 : 502;
      return c.json({ error: String(error) }, status);
    }
  });

  // For an agent dashboard, as in the Express example: ?within=2h[&pageId=…][&windows=…][&limit=…][&cursor=…].
  app.get('/windows', async (c) => {
    const q = (name: string) => once(name, c.req.queries(name) ?? []);
    try {
      const page = await messenger.expiringSoon({
        within: durationMs(q('within')),
        pageId: q('pageId'),
        windows: q('windows')?.split(',') as ClosingWindow[] | undefined,
        limit: limitFrom(q('limit')),
        cursor: q('cursor'),
      });
      return c.json(page);
    } catch (error) {
      if (isValidationError(error)) return c.json({ error: error.message }, 400);
      return c.json({ error: String(error) }, 503);
    }
  });

  const { server, bound } = await new Promise<{ server: Server; bound: number }>((resolve) => {
    const s = serve({ fetch: app.fetch, port, hostname: host }, (info) =>
      resolve({ server: s as Server, bound: info.port }),
    );
  });
  const close = () => new Promise((resolve) => server.close(resolve)).then(() => messenger.close());
  return { url: `http://${host}:${bound}`, messenger, close };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const env = process.env;
  const bot = await start({
    applicationId: env.VONAGE_APPLICATION_ID,
    privateKey: env.VONAGE_PRIVATE_KEY,
    signatureSecret: env.VONAGE_SIGNATURE_SECRET,
    port: Number(env.PORT ?? 3000),
  });
  console.log(`Hono bot on ${bot.url}: webhooks at /webhooks/inbound and /webhooks/status`);
}
