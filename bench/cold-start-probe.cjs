/**
 * Run by the cold-start section, one fresh `node` per measurement (plain node, no tsx: a
 * loader hook would be part of what is timed).
 *
 *   node bench/cold-start-probe.cjs <require|import> <ours|sdk> <import|webhook> <entry>
 *
 * `import`: loads the entry. `webhook`: loads it, builds a client with the application's
 * key, verifies one signed inbound webhook and parses it, as a serverless handler does on
 * its first request; the request comes in COLD_START_REQUEST (JSON: credentials, headers,
 * body), signed by the parent so that signing is not timed. Prints one line of JSON: the
 * milliseconds from just before the load to the answer, the RSS after, and (require only)
 * how many modules were loaded.
 */
const { createHash } = require('node:crypto');
const { pathToFileURL } = require('node:url');

const [system, who, task, entry] = process.argv.slice(2);
const modulesBefore = Object.keys(require.cache).length;
const load = (specifier) =>
  system === 'require'
    ? require(specifier)
    : import(specifier.startsWith('/') ? pathToFileURL(specifier).href : specifier);

/** Ours: the messenger verifies, parses and records (jti claim, window) in its memory store. */
async function answerWithOurs(request) {
  const { createMessenger } = await load(entry);
  const { applicationId, privateKey, signatureSecret, headers, body } = request;
  const messenger = createMessenger({ applicationId, privateKey, signatureSecret });
  const { event } = await messenger.receive({ headers, body });
  if (event.type !== 'text') throw new Error(`unexpected event ${event.type}`);
  return 200;
}

/**
 * The SDK as its docs show it: a `Vonage` client for the replies, `verifySignature` from
 * @vonage/jwt for the token. verifySignature does not check the body against the token's
 * payload_hash, so this adds that (SHA-256) before JSON.parse, as a careful user would.
 */
async function answerWithSdk(request) {
  const { Vonage } = await load(entry);
  const { verifySignature } = await load('@vonage/jwt');
  const { applicationId, privateKey, signatureSecret, headers, body } = request;
  const vonage = new Vonage({ applicationId, privateKey });
  if (vonage.messages === undefined) throw new Error('no messages client');
  const token = headers.authorization.slice('Bearer '.length);
  if (!verifySignature(token, signatureSecret)) return 401;
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
  if (claims.payload_hash !== createHash('sha256').update(body).digest('hex')) return 401;
  const message = JSON.parse(body);
  if (message.message_type !== 'text') throw new Error(`unexpected message ${message.message_type}`);
  return 200;
}

async function main() {
  const request = task === 'webhook' ? JSON.parse(process.env.COLD_START_REQUEST) : undefined;
  const t0 = performance.now();
  let status = 0;
  if (task === 'import') await load(entry);
  else status = await (who === 'ours' ? answerWithOurs : answerWithSdk)(request);
  const ms = performance.now() - t0;
  if (task === 'webhook' && status !== 200) throw new Error(`answered ${status}, not 200`);
  const modules = system === 'require' ? Object.keys(require.cache).length - modulesBefore : undefined;
  process.stdout.write(`${JSON.stringify({ ms, rss: process.memoryUsage().rss, modules })}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
