/**
 * The demo's bot: a node:http webhook server built only with the SDK's public pieces
 * (`messenger.webhookHandler` + `toNodeHandler`). Each message from a user gets a reply, if
 * `canSend` allows one; statuses and platform errors are kept so the demo can show them.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Messenger, PlatformErrorEvent, SendResult, StatusEvent } from '../../src/index.js';
import { toNodeHandler } from '../../src/index.js';

/** One reply the bot tried. */
export interface BotReply {
  to: string;
  text: string;
  result?: SendResult;
  error?: unknown;
}

/** A running bot. */
export interface Bot {
  /** Base URL: the inbound webhook is `${url}/webhooks/inbound`, statuses `${url}/webhooks/status`. */
  url: string;
  replies: BotReply[];
  statuses: StatusEvent[];
  platformErrors: PlatformErrorEvent[];
  /** Resolves when the bot answered every message it received so far. */
  close(): Promise<void>;
}

/** Options of {@link startBot}. */
export interface BotOptions {
  messenger: Messenger;
  port?: number;
  host?: string;
  /** What to say; default a thank-you that quotes the message. */
  replyText?: (text: string | undefined) => string;
  /** Called on each event, for a live log. */
  log?: (line: string) => void;
}

const defaultReply = (text: string | undefined) =>
  text === undefined
    ? 'Thanks for the attachment! A person will look at it.'
    : `Thanks for your message! You said: "${text}"`;

export async function startBot(options: BotOptions): Promise<Bot> {
  const { messenger } = options;
  const replies: BotReply[] = [];
  const statuses: StatusEvent[] = [];
  const platformErrors: PlatformErrorEvent[] = [];
  const replyText = options.replyText ?? defaultReply;

  const handler = messenger.webhookHandler({
    async onMessage(event) {
      options.log?.(
        `message from ${event.psid} to Page ${event.pageId}: ${event.type === 'text' ? event.text : event.type}`,
      );
      const decision = await messenger.canSend({ from: event.pageId, to: event.psid });
      if (!decision.allowed) return;
      const reply: BotReply = { to: event.psid, text: replyText(event.type === 'text' ? event.text : undefined) };
      replies.push(reply);
      try {
        reply.result = await messenger.sendText({ from: event.pageId, to: event.psid, text: reply.text });
        options.log?.(`replied (${reply.result.messageUuid})`);
      } catch (error) {
        // The webhook itself was fine: answer 200 so Vonage does not retry it.
        reply.error = error;
        options.log?.(`reply failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
    onStatus(event) {
      statuses.push(event);
      options.log?.(`status ${event.status} for ${event.messageUuid}${event.error ? ` (${event.error.code})` : ''}`);
    },
    onPlatformError(event) {
      platformErrors.push(event);
      options.log?.(event.message);
    },
  });

  const server = createServer(toNodeHandler(handler));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    replies,
    statuses,
    platformErrors,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
