// A bot built from the packed tarball, run by Bun and by Deno (scripts/runtimes.sh): it is
// served with the runtime's own server (Bun.serve / Deno.serve) and talks to the local
// sandbox of the Messages API (vonage-messenger/testing), which runs in the same runtime.
// Checked: a signed webhook is answered 200 and a forged one 401, a send outside the window
// is refused without a request, and the bot's reply reaches the sandbox and is accepted.
import { createMessenger, WindowClosedError } from 'vonage-messenger';
import { createSandbox, inboundText, signWebhook } from 'vonage-messenger/testing';
import { check, runtime, serve } from './host.mjs';
import { rsaKeys } from './keys.mjs';

const PAGE = '107329271234567';
const USER = '7000000000000001';
const STRANGER = '7000000000000002';
const transports = (process.argv[2] ?? 'http').split(',');

const { privateKey, publicKey } = await rsaKeys();
const signatureSecret = crypto.randomUUID();
const applicationId = crypto.randomUUID();

for (const transport of transports) {
  const sandbox = await createSandbox({ signatureSecret, applicationId, publicKey });
  const messenger = createMessenger({ applicationId, privateKey, signatureSecret, apiHost: sandbox.url, transport });
  const replies = [];
  const bot = serve(
    messenger.webhookHandler({
      async onMessage(event) {
        replies.push(await messenger.sendText({ from: event.pageId, to: event.psid, text: `You said: ${event.text}` }));
      },
    }),
  );
  try {
    sandbox.webhookUrl = `${bot.url}/webhooks/inbound`;
    sandbox.statusUrl = `${bot.url}/webhooks/status`;

    // Outside the window (the user never wrote): refused before the network.
    const refused = await messenger.sendText({ from: PAGE, to: STRANGER, text: 'hello?' }).catch((error) => error);
    check(refused instanceof WindowClosedError, `a send outside the window gave ${refused}`);
    check(sandbox.requests.length === 0, 'a refused send reached the sandbox');

    // A forged webhook (another secret) is answered 401 and opens no window.
    const forged = signWebhook(inboundText({ pageId: PAGE, psid: USER, text: 'forged' }), 'not-the-secret', {
      applicationId,
    });
    const forgedAnswer = await fetch(sandbox.webhookUrl, {
      method: 'POST',
      headers: forged.headers,
      body: forged.body,
    });
    check(forgedAnswer.status === 401, `a forged webhook was answered ${forgedAnswer.status}`);

    // The user writes: the sandbox posts a signed webhook, the bot answers 200 and replies.
    const status = await sandbox.userSays({ page: PAGE, psid: USER, text: 'Where is my order?' });
    check(status === 200, `the signed webhook was answered ${status}`);
    check(replies.length === 1, `expected 1 reply, got ${replies.length}`);
    const sent = sandbox.requests.filter((r) => r.method === 'POST' && r.path === '/v1/messages');
    check(sent.length === 1 && sent[0].status === 202, `the sandbox saw ${JSON.stringify(sent.map((r) => r.status))}`);
    check(sent[0].auth === 'jwt', `the reply was sent with ${sent[0].auth} auth`);
    check(sent[0].messageUuid === replies[0].messageUuid, 'the reply uuid differs from the sandbox one');
    check(sent[0].body.text === 'You said: Where is my order?', `the sandbox got ${JSON.stringify(sent[0].body)}`);
    await sandbox.settled();
    console.log(
      `${runtime} (transport ${transport}): ok: signed 200, forged 401, refused without a request, reply ${replies[0].messageUuid} accepted (202)`,
    );
  } finally {
    await bot.close();
    await messenger.close();
    await sandbox.close();
  }
}
// Deno keeps the process alive while handles linger; the checks above are done.
process.exit(0);
