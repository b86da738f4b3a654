/**
 * `vonage-messenger sandbox`: the sandbox as a standalone server with the chat page.
 *
 * @module
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Command, EXIT, type Io, integer, type ParsedArgs, paint, str, UsageError } from './io.js';
import { DEFAULT_PAGE, DEFAULT_USER, type Playground, startPlayground } from './playground.js';

const HELP = `Usage: vonage-messenger sandbox [options]

Runs the local Messages API sandbox (Messenger rules, JWT auth, signed webhooks, exactly as
in the SDK's tests) and the chat page at its "/". Point a bot at it with the environment
it prints. Without credentials it generates an application id, an RSA key pair and a
signature secret into a new directory and names it. Stops cleanly on Ctrl+C (SIGINT) or SIGTERM.

Options:
  --port N                  port to listen on (default 3100; 0 picks a free one)
  --host HOST               address to listen on (default 127.0.0.1)
  --webhook-url URL         where the user's messages go (the bot's inbound webhook)
  --status-url URL          where status webhooks go (the bot's status webhook)
  --signature-secret S      the secret webhooks are signed with (default: generated)
  --application-id ID       the only application a JWT may name (default: generated)
  --public-key FILE         the application's public key, PEM (default: generated pair)
  --api-key KEY             api_key claim of signed webhooks (default test-api-key)
  --page ID                 a Page offered by the chat page (repeatable)
  --json                    print the environment, then every request and webhook, as JSON lines
  -h, --help                this help

Exit codes: 0 stopped cleanly, 2 usage error, 1 could not start.`;

interface Credentials {
  dir: string | undefined;
  applicationId: string;
  publicKey: string | KeyObject;
  privateKeyPath: string | undefined;
  signatureSecret: string;
  generatedSecret: boolean;
}

/** Uses the credentials given; generates the ones missing into a new directory. */
function credentials(args: ParsedArgs): Credentials {
  const applicationId = str(args, 'application-id');
  const publicKeyFile = str(args, 'public-key');
  const secret = str(args, 'signature-secret');
  if ((applicationId === undefined) !== (publicKeyFile === undefined)) {
    throw new UsageError('--application-id and --public-key go together (or leave both out to generate them)');
  }
  if (secret === '') throw new UsageError('--signature-secret must not be empty');
  let dir: string | undefined;
  const directory = (): string => {
    dir ??= mkdtempSync(join(tmpdir(), 'vonage-messenger-sandbox-'));
    return dir;
  };
  let publicKey: string | KeyObject;
  let privateKeyPath: string | undefined;
  if (publicKeyFile !== undefined) {
    let pem: string;
    try {
      pem = readFileSync(publicKeyFile, 'utf8');
    } catch {
      throw new UsageError(`--public-key: cannot read ${publicKeyFile}`);
    }
    try {
      publicKey = createPublicKey(pem);
    } catch {
      throw new UsageError(`--public-key: ${publicKeyFile} holds no PEM public key`);
    }
  } else {
    const pair = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    publicKey = pair.publicKey;
    privateKeyPath = join(directory(), 'private.key');
    writeFileSync(privateKeyPath, pair.privateKey, { mode: 0o600 });
    writeFileSync(join(directory(), 'public.key'), pair.publicKey);
  }
  const signatureSecret = secret ?? randomBytes(24).toString('base64url');
  const id = applicationId ?? randomUUID();
  if (dir !== undefined) {
    const env = [
      `VONAGE_APPLICATION_ID=${id}`,
      `VONAGE_PRIVATE_KEY=${privateKeyPath ?? ''}`,
      ...(secret === undefined ? [`VONAGE_SIGNATURE_SECRET=${signatureSecret}`] : []),
    ];
    writeFileSync(join(dir, 'sandbox.env'), `${env.join('\n')}\n`, { mode: 0o600 });
  }
  return {
    dir,
    applicationId: id,
    publicKey,
    privateKeyPath,
    signatureSecret,
    generatedSecret: secret === undefined,
  };
}

function checkUrl(args: ParsedArgs, name: string): string | undefined {
  const value = str(args, name);
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new UsageError(`--${name} must be an http(s) URL (got "${value}")`);
  }
  return value;
}

function announce(io: Io, playground: Playground, creds: Credentials, json: boolean): void {
  const env: Record<string, string> = {
    VONAGE_API_HOST: playground.url,
    VONAGE_APPLICATION_ID: creds.applicationId,
  };
  if (creds.privateKeyPath !== undefined) env.VONAGE_PRIVATE_KEY = creds.privateKeyPath;
  if (creds.generatedSecret) env.VONAGE_SIGNATURE_SECRET = creds.signatureSecret;
  const { sandbox } = playground;
  if (json) {
    io.out(
      `${JSON.stringify({
        event: 'listening',
        url: playground.url,
        chatPage: `${playground.url}/`,
        credentialsDir: creds.dir ?? null,
        env,
        webhookUrl: sandbox.webhookUrl ?? null,
        statusUrl: sandbox.statusUrl ?? null,
      })}\n`,
    );
    return;
  }
  const lines = [
    `${paint(io, 'bold', 'Messages API sandbox')} on ${playground.url}`,
    `Chat page: ${paint(io, 'cyan', `${playground.url}/`)}`,
  ];
  if (creds.dir !== undefined)
    lines.push(`Generated credentials in ${creds.dir} (private.key, public.key, sandbox.env)`);
  lines.push('', 'Environment for your bot:');
  for (const [name, value] of Object.entries(env)) lines.push(`  ${name}=${value}`);
  if (!creds.generatedSecret) lines.push('  VONAGE_SIGNATURE_SECRET=<the --signature-secret you gave>');
  if (creds.privateKeyPath === undefined) lines.push('  VONAGE_PRIVATE_KEY=<the private key of --public-key>');
  lines.push(
    '',
    `Inbound webhooks → ${sandbox.webhookUrl ?? paint(io, 'yellow', 'not set (--webhook-url)')}`,
    `Status webhooks  → ${sandbox.statusUrl ?? paint(io, 'yellow', 'not set (--status-url)')}`,
    'Press Ctrl+C to stop.',
    '',
  );
  io.out(`${lines.join('\n')}\n`);
}

function follow(io: Io, playground: Playground, json: boolean): () => void {
  return playground.sandbox.subscribe((entry) => {
    if (json) {
      io.out(
        `${JSON.stringify({ event: entry.kind, ...(entry.kind === 'request' ? entry.request : entry.webhook) })}\n`,
      );
      return;
    }
    if (entry.kind === 'request') {
      const { request } = entry;
      const verdict = request.verdict;
      const outcome =
        verdict === undefined
          ? ''
          : verdict.delivered
            ? ' delivered'
            : ` ${paint(io, 'red', `rejected ${verdict.code}`)}`;
      io.out(`${request.method} ${request.path} ${request.status}${outcome}\n`);
    } else {
      const { webhook } = entry;
      const answer = webhook.responseStatus ?? paint(io, 'red', `failed (${webhook.error})`);
      io.out(`  webhook ${webhook.kind}${webhook.status ? ` ${webhook.status}` : ''} → ${webhook.url} ${answer}\n`);
    }
  });
}

export const sandboxCommand: Command = {
  name: 'sandbox',
  summary: 'run the local sandbox and the chat page',
  help: HELP,
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'webhook-url': { type: 'string' },
    'status-url': { type: 'string' },
    'signature-secret': { type: 'string' },
    'application-id': { type: 'string' },
    'public-key': { type: 'string' },
    'api-key': { type: 'string' },
    page: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  },
  async run(args, io) {
    const port = integer(args, 'port', 3100, 0, 65_535);
    const host = str(args, 'host') ?? '127.0.0.1';
    const webhookUrl = checkUrl(args, 'webhook-url');
    const statusUrl = checkUrl(args, 'status-url');
    const pages = (args.values.page as string[] | undefined) ?? [DEFAULT_PAGE];
    if (pages.some((page) => !/^\d{1,32}$/.test(page))) throw new UsageError('--page takes a numeric Page ID');
    const creds = credentials(args);
    const json = args.values.json === true;
    const apiKey = str(args, 'api-key');
    let playground: Playground;
    try {
      playground = await startPlayground({
        port,
        host,
        signatureSecret: creds.signatureSecret,
        applicationId: creds.applicationId,
        publicKey: creds.publicKey,
        offer: { pages, users: [DEFAULT_USER] },
        ...(apiKey !== undefined ? { apiKey } : {}),
        ...(webhookUrl !== undefined ? { webhookUrl } : {}),
        ...(statusUrl !== undefined ? { statusUrl } : {}),
      });
    } catch (error) {
      // Credentials generated for a sandbox that never ran would only litter the temp directory.
      if (creds.dir !== undefined) rmSync(creds.dir, { recursive: true, force: true });
      io.err(`vonage-messenger sandbox: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
      return EXIT.failed;
    }
    // The port is known only now: the bot's environment file gets the API host too.
    if (creds.dir !== undefined) appendFileSync(join(creds.dir, 'sandbox.env'), `VONAGE_API_HOST=${playground.url}\n`);
    announce(io, playground, creds, json);
    const stopFollowing = follow(io, playground, json);
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    stopFollowing();
    await playground.close();
    if (json) io.out(`${JSON.stringify({ event: 'stopped', signal })}\n`);
    else io.out(`\nStopped (${signal}).\n`);
    return EXIT.ok;
  },
};
