// A Messenger bot as a Cloudflare Worker: Vonage's signed webhooks in, replies out through
// the Messages API, windows and replay guards in D1. Bundled from the package with the
// `workerd` export condition (scenario.mjs), which loads its Web Crypto + fetch build.
import { createMessenger, isMessengerError } from 'vonage-messenger';
import { d1Store } from 'vonage-messenger/d1';

let messenger;
let handler;
let slow;
let slowHandler;

/** One messenger per isolate: the key is imported and the tables created once. */
function setUp(env) {
  if (handler !== undefined) return { messenger, handler, slowHandler };
  const options = {
    applicationId: env.VONAGE_APPLICATION_ID,
    privateKey: env.VONAGE_PRIVATE_KEY,
    signatureSecret: env.VONAGE_SIGNATURE_SECRET,
    apiHost: env.VONAGE_API_HOST,
    store: d1Store({ database: env.DB }),
  };
  messenger = createMessenger(options);
  handler = messenger.webhookHandler({
    async onMessage(event) {
      await messenger.sendText({ from: event.pageId, to: event.psid, text: `You said: ${event.text}` });
    },
  });
  // A bot slower than its callbackTimeoutMs: answered 503, it must still finish (ctx.waitUntil).
  slow = createMessenger({ ...options, webhook: { callbackTimeoutMs: 100 } });
  slowHandler = slow.webhookHandler({
    async onMessage(event) {
      await new Promise((resolve) => setTimeout(resolve, 400));
      await slow.sendText({ from: event.pageId, to: event.psid, text: `Slowly: ${event.text}` });
    },
  });
  return { messenger, handler, slowHandler };
}

export default {
  async fetch(request, env, ctx) {
    const { messenger, handler, slowHandler } = setUp(env);
    const url = new URL(request.url);
    if (url.pathname === '/webhooks/slow') return slowHandler(request, ctx);
    if (url.pathname.startsWith('/webhooks/')) return handler(request, ctx);
    // For the test only: a send the bot was not asked for, to a user who never wrote.
    if (url.pathname === '/send') {
      try {
        await messenger.sendText({
          from: url.searchParams.get('from'),
          to: url.searchParams.get('to'),
          text: 'hello?',
        });
        return Response.json({ sent: true });
      } catch (error) {
        return Response.json({ sent: false, name: error.name, code: isMessengerError(error) ? error.code : undefined });
      }
    }
    return new Response('not found', { status: 404 });
  },
};
