/**
 * An Express bot: replies to every message; POST /agent/reply sends a person's answer later, as a plain reply in the
 * 24-hour window, with the HUMAN_AGENT tag after it (7 days), or not at all (409 and the reason); GET /windows?within=2h
 * lists the conversations whose window closes within 2 hours, for an agent dashboard. Run it:
 *   VONAGE_APPLICATION_ID=… VONAGE_PRIVATE_KEY=./private.key VONAGE_SIGNATURE_SECRET=… npx tsx examples/express-bot.ts
 * Against the local sandbox (`npx vonage-messenger sandbox`), add the VONAGE_API_HOST it prints.
 */
import type { Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import express from 'express';
// In your app: from 'vonage-messenger'.
import {
  type ClosingWindow,
  createMessenger,
  isMessengerError,
  isValidationError,
  type MessengerOptions,
  toNodeHandler,
} from '../src/index.js';
import { durationMs, limitFrom, once } from './duration.js';

export async function start(options: MessengerOptions & { port?: number; host?: string }) {
  const { port = 3000, host = '127.0.0.1', ...config } = options;
  const messenger = createMessenger(config);
  const webhooks = toNodeHandler(
    messenger.webhookHandler({
      async onMessage(event) {
        const text = event.type === 'text' ? `You said: "${event.text}". An agent will follow up.` : 'Thanks!';
        // A failed reply must not fail the webhook (Vonage would deliver the message again).
        await messenger.sendText({ from: event.pageId, to: event.psid, text }).catch(console.error);
      },
    }),
  );

  const app = express();
  app.post('/webhooks/inbound', webhooks); // before any body parser: the signature covers the raw bytes
  app.post('/webhooks/status', webhooks);
  app.post('/agent/reply', express.json(), async (req, res) => {
    const { pageId: from, psid: to, text } = req.body ?? {};
    try {
      const plain = await messenger.canSend({ from, to });
      const handoff = plain.allowed ? plain : await messenger.canSend({ from, to, tag: 'HUMAN_AGENT' });
      if (!handoff.allowed) return void res.status(409).json({ reason: handoff.reason, message: handoff.message });
      const tag = plain.allowed ? {} : { tag: 'HUMAN_AGENT' };
      res.json(await messenger.sendText({ from, to, text, ...tag }));
    } catch (error) {
      const status = isMessengerError(error) && error.code === 'VALIDATION_ERROR' ? 400 : 502;
      res.status(status).json({ error: String(error) });
    }
  });

  // For an agent dashboard: who must be answered soon, earliest first. ?within=2h[&pageId=…][&windows=standard]
  // [&limit=50][&cursor=…]; the JSON's `cursor` fetches the next page.
  app.get('/windows', async (req, res) => {
    const q = (name: string) => once(name, [req.query[name] ?? []].flat());
    try {
      const page = await messenger.expiringSoon({
        within: durationMs(q('within')),
        pageId: q('pageId'),
        windows: q('windows')?.split(',') as ClosingWindow[] | undefined,
        limit: limitFrom(q('limit')),
        cursor: q('cursor'),
      });
      res.json(page);
    } catch (error) {
      // Bad input: the ValidationError's message; otherwise the store is down (StoreError): try again.
      if (isValidationError(error)) res.status(400).json({ error: error.message });
      else res.status(503).json({ error: String(error) });
    }
  });

  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(port, host, () => resolve(listening));
  });
  const { port: bound } = server.address() as { port: number };
  const close = () => new Promise((resolve) => server.close(resolve)).then(() => messenger.close());
  return { url: `http://${host}:${bound}`, messenger, close };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const env = process.env;
  const bot = await start({
    applicationId: env.VONAGE_APPLICATION_ID,
    privateKey: env.VONAGE_PRIVATE_KEY,
    signatureSecret: env.VONAGE_SIGNATURE_SECRET,
    ...(env.VONAGE_API_HOST ? { apiHost: env.VONAGE_API_HOST } : {}),
    port: Number(env.PORT ?? 3000),
  });
  console.log(`Express bot on ${bot.url}: webhooks at /webhooks/inbound and /webhooks/status`);
}
