// The smoke scenario, shared by esm.mjs and cjs.cjs so both module systems run the same
// steps against the same kind of server: a 127.0.0.1 stand-in for the Messages API.
// It runs with no optional peer dependency installed: it checks that none is, loads every
// subpath that needs none, receives a signed inbound webhook (which opens the window), sends a
// reply, checks a send to an unknown user is refused without a request, and that
// `transport: 'vonage-sdk'` says what to install instead of failing obscurely.
// peers.mjs / peers.cjs then load the subpaths that need msw or vitest.
'use strict';
const { createServer } = require('node:http');
const { generateKeyPairSync, randomBytes, randomUUID } = require('node:crypto');

const PAGE = '107329271234567';
const USER = '7000000000000001';

function check(condition, message) {
  if (!condition) throw new Error(`smoke: ${message}`);
}

async function startApi() {
  const seen = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization, body });
      const uuid = randomUUID();
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message_uuid: uuid }));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, seen, close: () => new Promise((r) => server.close(r)) };
}

/**
 * @param {string} label "esm" or "cjs"
 * @param {Record<string, any>} root the `vonage-messenger` module
 * @param {Record<string, any>} testing the `vonage-messenger/testing` module
 * @param {Record<string, Record<string, any>>} subpaths the other subpath modules, by name
 */
async function run(label, root, testing, subpaths) {
  const { peerDependencies } = require('vonage-messenger/package.json');
  for (const peer of Object.keys(peerDependencies)) {
    let found;
    try {
      found = require.resolve(peer);
    } catch {}
    check(found === undefined, `${label}: the optional peer ${peer} is installed (${found}); this run must have none`);
  }

  const expected = {
    root: [root, ['createMessenger', 'psid', 'pageId', 'evaluateSend', 'memoryStore', 'WindowClosedError']],
    testing: [testing, ['signWebhook']],
    redis: [subpaths.redis, ['redisStore']],
    postgres: [subpaths.postgres, ['postgresStore']],
    sqlite: [subpaths.sqlite, ['sqliteStore']],
    d1: [subpaths.d1, ['d1Store']],
  };
  for (const [name, [mod, names]] of Object.entries(expected)) {
    check(mod !== undefined && mod !== null, `${label}: vonage-messenger/${name} did not load`);
    for (const n of names) check(typeof mod[n] === 'function', `${label}: vonage-messenger/${name} lacks ${n}()`);
  }

  // dist/ carries its own bundled copy of zod; the user's zod (the `zod` dependency installed
  // next to it, a separate instance) must compose our exported schemas all the same.
  const { z } = require('zod');
  const Body = z.object({ user: root.PsidSchema, page: root.PageIdSchema.optional() });
  const body = Body.parse({ user: USER, page: Number(PAGE) });
  check(body.user === USER && body.page === PAGE, `${label}: the user's zod did not parse through PsidSchema`);
  const refusedId = Body.safeParse({ user: '12a' });
  check(
    !refusedId.success && refusedId.error.issues[0].message === 'PSID must contain only the digits 0-9',
    `${label}: the user's zod did not report PsidSchema's message`,
  );
  check(root.PsidSchema instanceof z.ZodType, `${label}: PsidSchema is not instanceof the user's z.ZodType`);

  const api = await startApi();
  try {
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const signatureSecret = randomBytes(32).toString('hex');
    const applicationId = randomUUID();
    const options = { applicationId, privateKey, signatureSecret, apiHost: api.url };
    const messenger = root.createMessenger(options);

    // A send to a user who never wrote is refused before the network.
    let refused;
    try {
      await messenger.sendText({ from: PAGE, to: USER, text: 'hello?' });
    } catch (error) {
      refused = error;
    }
    check(
      refused instanceof root.WindowClosedError,
      `${label}: a send to an unknown user was not refused with WindowClosedError`,
    );
    check(api.seen.length === 0, `${label}: a refused send reached the server`);

    // The user writes: a signed inbound webhook opens the window.
    const body = JSON.stringify({
      channel: 'messenger',
      message_uuid: randomUUID(),
      to: PAGE,
      from: USER,
      timestamp: new Date().toISOString(),
      message_type: 'text',
      text: 'Where is my order?',
    });
    const signed = testing.signWebhook(body, signatureSecret, { applicationId });
    const received = await messenger.receive({ headers: signed.headers, body: signed.body });
    check(received !== undefined && received !== null, `${label}: receive returned nothing`);

    // A forged webhook is refused.
    let forged;
    try {
      const bad = testing.signWebhook(body, 'not-the-secret', { applicationId });
      await messenger.receive({ headers: bad.headers, body: bad.body });
    } catch (error) {
      forged = error;
    }
    check(forged instanceof root.WebhookVerificationError, `${label}: a forged webhook was not refused`);

    const sent = await messenger.sendText({ from: PAGE, to: USER, text: 'It ships today.' });
    check(
      typeof sent.messageUuid === 'string' && sent.messageUuid.length > 0,
      `${label}: sendText returned no messageUuid`,
    );
    check(api.seen.length === 1, `${label}: expected 1 request at the server, saw ${api.seen.length}`);
    const request = api.seen[0];
    check(
      request.method === 'POST' && request.url === '/v1/messages',
      `${label}: sent ${request.method} ${request.url}`,
    );
    check(/^Bearer /.test(request.authorization ?? ''), `${label}: the send had no bearer token`);
    const payload = JSON.parse(request.body);
    check(
      payload.channel === 'messenger' && payload.to === USER && payload.from === PAGE,
      `${label}: unexpected payload ${request.body}`,
    );
    await messenger.close?.();

    // transport 'vonage-sdk' without its optional peer: a typed error naming what to install,
    // thrown by the first send before any request.
    const sdk = root.createMessenger({ ...options, transport: 'vonage-sdk' });
    await sdk.recordInbound({ from: USER, to: PAGE, messageUuid: randomUUID(), timestamp: new Date() });
    const missing = await sdk.sendText({ from: PAGE, to: USER, text: 'via the SDK' }).catch((error) => error);
    check(
      root.isMissingDependencyError(missing) && /npm install @vonage\/messages/.test(missing.message),
      `${label}: transport 'vonage-sdk' without @vonage/messages did not fail with MissingDependencyError: ${missing}`,
    );
    check(api.seen.length === 1, `${label}: the 'vonage-sdk' send without its SDK reached the server`);
    await sdk.close?.();
    console.log(
      `smoke ${label}: ok with no optional peer installed (subpaths loaded, refused send, signed webhook, forged webhook, send ${sent.messageUuid}, vonage-sdk names what to install)`,
    );
  } finally {
    await api.close();
  }
}

module.exports = { run };
