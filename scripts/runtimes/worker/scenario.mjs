// The Workers scenario, shared by test/workers/worker.test.ts (the worker bundled from src/)
// and scripts/runtimes.sh (bundled from the packed tarball): bundle worker.mjs for workerd,
// check that the bundle imports nothing from Node, run it in workerd (miniflare) with a D1
// database, and drive it with the local sandbox of the Messages API (Node side).
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { rsaKeys } from '../keys.mjs';

export const WORKER_ENTRY = fileURLToPath(new URL('./worker.mjs', import.meta.url));
const PAGE = '107329271234567';
const USER = '7000000000000001';
const STRANGER = '7000000000000002';

/**
 * Bundles the worker as wrangler does: ESM, export conditions `workerd` and `worker` first.
 * Returns the code and the `node:` modules it still imports (there must be none).
 */
export async function bundleWorker({ entry = WORKER_ENTRY, plugins = [], external = [] } = {}) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    plugins,
    // A `node:` import would fail in workerd without nodejs_compat: keep it visible, not fatal here.
    external: ['node:*', ...external],
    metafile: true,
    logLevel: 'silent',
  });
  const nodeImports = new Set();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const entry of output.imports)
      if (entry.path.startsWith('node:') || entry.external) nodeImports.add(entry.path);
  }
  return { code: result.outputFiles[0].text, nodeImports: [...nodeImports] };
}

function check(condition, message) {
  if (!condition) throw new Error(`workerd: ${message}`);
}

/**
 * Runs the bundled worker in workerd and checks: a signed inbound webhook is answered 200 and
 * the reply reaches the sandbox (JWT signed with Web Crypto, accepted 202); the same webhook
 * again is a duplicate (D1) and sends nothing; a forged one is answered 401; a send to a user
 * who never wrote is refused with no request. Returns what it saw, for the caller to print.
 */
export async function runWorkerScenario({ code, testing }) {
  const { createSandbox, inboundText, signWebhook } = testing;
  const { privateKey, publicKey } = await rsaKeys();
  const signatureSecret = crypto.randomUUID();
  const applicationId = crypto.randomUUID();
  const sandbox = await createSandbox({ signatureSecret, applicationId, publicKey });
  const mf = new Miniflare({
    modules: true,
    script: code,
    compatibilityDate: '2025-09-01',
    d1Databases: ['DB'],
    bindings: {
      VONAGE_APPLICATION_ID: applicationId,
      VONAGE_PRIVATE_KEY: privateKey,
      VONAGE_SIGNATURE_SECRET: signatureSecret,
      VONAGE_API_HOST: sandbox.url,
    },
  });
  try {
    const url = await mf.ready;
    sandbox.webhookUrl = new URL('/webhooks/inbound', url).href;
    sandbox.statusUrl = new URL('/webhooks/status', url).href;

    const refused = await (await mf.dispatchFetch(`http://bot.local/send?from=${PAGE}&to=${STRANGER}`)).json();
    check(
      refused.sent === false && refused.name === 'WindowClosedError',
      `a send outside the window gave ${JSON.stringify(refused)}`,
    );
    check(sandbox.requests.length === 0, 'a refused send reached the sandbox');

    const forged = signWebhook(inboundText({ pageId: PAGE, psid: USER, text: 'forged' }), 'not-the-secret', {
      applicationId,
    });
    const forgedStatus = (
      await mf.dispatchFetch('http://bot.local/webhooks/inbound', {
        method: 'POST',
        headers: forged.headers,
        body: forged.body,
      })
    ).status;
    check(forgedStatus === 401, `a forged webhook was answered ${forgedStatus}`);

    const messageUuid = crypto.randomUUID();
    const status = await sandbox.userSays({ page: PAGE, psid: USER, text: 'Where is my order?', messageUuid });
    check(status === 200, `the signed webhook was answered ${status}`);
    const sent = () => sandbox.requests.filter((r) => r.method === 'POST' && r.path === '/v1/messages');
    check(sent().length === 1, `the sandbox saw ${sent().length} sends`);
    const [reply] = sent();
    check(
      reply.status === 202 && reply.auth === 'jwt',
      `the reply was answered ${reply.status} with ${reply.auth} auth`,
    );
    check(reply.body.text === 'You said: Where is my order?', `the reply was ${JSON.stringify(reply.body)}`);

    // Vonage retries a webhook it thinks failed: the copy is a duplicate in D1, no second reply.
    const copy = await sandbox.userSays({ page: PAGE, psid: USER, text: 'Where is my order?', messageUuid });
    check(
      copy === 200 && sent().length === 1,
      `a repeated webhook was answered ${copy} and sent ${sent().length - 1} more`,
    );
    // A callback that outruns callbackTimeoutMs: answered 503, it finishes after the answer
    // (ctx.waitUntil) and settles its lease, so Vonage's next copy is a plain 200.
    sandbox.webhookUrl = new URL('/webhooks/slow', url).href;
    const slowUuid = crypto.randomUUID();
    const slow = await sandbox.userSays({ page: PAGE, psid: USER, text: 'slow', messageUuid: slowUuid });
    check(slow === 503, `a callback past callbackTimeoutMs was answered ${slow}`);
    const slowReplies = () => sent().filter((r) => r.body.text === 'Slowly: slow').length;
    for (let i = 0; i < 50 && slowReplies() === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    check(slowReplies() === 1, 'the callback that outran callbackTimeoutMs did not finish after the answer');
    let retried = 0;
    for (let i = 0; i < 50; i++) {
      retried = await sandbox.userSays({ page: PAGE, psid: USER, text: 'slow', messageUuid: slowUuid });
      if (retried !== 503) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    check(retried === 200 && slowReplies() === 1, `its copy was answered ${retried}, ${slowReplies()} replies`);
    await sandbox.settled();
    return { forgedStatus, status, reply: reply.messageUuid, slow, retried };
  } finally {
    await mf.dispose();
    await sandbox.close();
  }
}
