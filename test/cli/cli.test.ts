// Every command of `npx vonage-messenger`, run as a subprocess of the package installed from
// its packed tarball (not from src/): help, exit codes, --json, colours, and what each does.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessenger, type StatusEvent, toNodeHandler } from '../../src/index.js';
import { signRs256 } from '../../src/send/auth.js';
import { inboundText, signWebhook } from '../../src/testing/index.js';
import { createWebhookVerifier } from '../../src/webhooks/verify.js';
import { type CliResult, freePort, packedCli, runCli, startCli } from './packed.js';

let bin: string;
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'vm-cli-test-'));
  dirs.push(dir);
  return dir;
};
const cli = (args: string[], options?: Parameters<typeof runCli>[2]): Promise<CliResult> => runCli(bin, args, options);
const ESC = '\u001b[';

beforeAll(async () => {
  bin = await packedCli();
}, 400_000);

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const COMMANDS = ['sandbox', 'trigger', 'inspect-token', 'doctor'];

describe.concurrent('the command line', () => {
  it('prints the command list with --help (exit 0) and without a command (exit 2)', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const name of COMMANDS) expect(help.stdout).toContain(name);
    const bare = await cli([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toContain('Usage: vonage-messenger <command>');
  });

  it.each(COMMANDS)('%s --help prints its usage and exits 0', async (name) => {
    const result = await cli([name, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: vonage-messenger ${name}`);
    expect(result.stdout).toContain('Exit codes');
  });

  it.each(COMMANDS)('%s refuses an unknown option with exit 2 and a pointer to --help', async (name) => {
    const result = await cli([name, '--no-such-option']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Unknown option '--no-such-option'");
    expect(result.stderr).toContain(`vonage-messenger ${name} --help`);
  });

  it('refuses an unknown command with exit 2', async () => {
    const result = await cli(['listen']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "listen"');
  });

  it('prints the package version', async () => {
    const result = await cli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(
      JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')).version,
    );
  });

  it('colours only on a TTY, and never under NO_COLOR', async () => {
    const env = { VONAGE_APPLICATION_ID: '', VONAGE_PRIVATE_KEY: '', VONAGE_SIGNATURE_SECRET: '' };
    const piped = await cli(['doctor'], { env });
    expect(piped.code).toBe(1);
    expect(piped.stdout).not.toContain(ESC);
    // `script` gives the CLI a pseudo-terminal as stdout.
    const onTty = (extra: string) =>
      execFileSync('script', ['-qec', `${extra} ${bin} doctor; true`, '/dev/null'], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH },
      });
    expect(onTty('')).toContain(`${ESC}31mFAIL`);
    expect(onTty('NO_COLOR=1')).not.toContain(ESC);
  });
});

describe('sandbox', () => {
  it('generates credentials, prints the environment, answers like the sandbox and stops on SIGTERM', async () => {
    const run = startCli(bin, ['sandbox', '--port', '0', '--json']);
    const listening = JSON.parse(await run.line((line) => line.includes('"listening"')));
    const { env, url, credentialsDir } = listening;
    expect(env.VONAGE_API_HOST).toBe(url);
    expect(env.VONAGE_APPLICATION_ID).toMatch(/^[0-9a-f-]{36}$/);
    expect(env.VONAGE_PRIVATE_KEY).toBe(join(credentialsDir, 'private.key'));
    expect(env.VONAGE_SIGNATURE_SECRET.length).toBeGreaterThanOrEqual(32);
    expect(readdirSync(credentialsDir).sort()).toEqual(['private.key', 'public.key', 'sandbox.env']);
    const envFile = readFileSync(join(credentialsDir, 'sandbox.env'), 'utf8');
    for (const [name, value] of Object.entries(env)) expect(envFile).toContain(`${name}=${value}\n`);
    expect(statSync(env.VONAGE_PRIVATE_KEY).mode & 0o777).toBe(0o600);
    const key = createPrivateKey(readFileSync(env.VONAGE_PRIVATE_KEY));
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    dirs.push(credentialsDir);

    const iat = Math.floor(Date.now() / 1000);
    const send = (jwt: string) =>
      fetch(`${url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'messenger', message_type: 'text', from: '1029', to: '2538', text: 'hi' }),
      });
    const good = signRs256({ jti: randomUUID(), iat, exp: iat + 900, application_id: env.VONAGE_APPLICATION_ID }, key);
    const answer = await send(good);
    // The user never wrote: accepted (202), then rejected by the platform (1430 in the feed).
    expect(answer.status).toBe(202);
    const uuid = ((await answer.json()) as { message_uuid: string }).message_uuid;
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const forged = signRs256(
      { jti: randomUUID(), iat, exp: iat + 900, application_id: env.VONAGE_APPLICATION_ID },
      other,
    );
    expect((await send(forged)).status).toBe(401);
    const accepted = JSON.parse(await run.line((line) => line.includes(uuid)));
    expect(accepted).toMatchObject({ event: 'request', status: 202, verdict: { delivered: false, code: 1430 } });

    const page = await fetch(`${url}/`);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script src="/playground.js"');
    // Offline: nothing is loaded from another origin.
    expect(html).not.toMatch(/(src|href)="https?:/);
    const script = await (await fetch(`${url}/playground.js`)).text();
    expect(script).toContain('EventSource');
    expect(script).not.toMatch(/https?:\/\/(?!127)/);

    expect(await run.stop('SIGTERM')).toBe(0);
    expect(run.output()).toContain('"event":"stopped","signal":"SIGTERM"');
  });

  it('uses the credentials it is given and generates nothing; prints them for a person without --json', async () => {
    const dir = tempDir();
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'public.key'), pair.publicKey.export({ type: 'spki', format: 'pem' }));
    const applicationId = randomUUID();
    const run = startCli(bin, [
      'sandbox',
      '--port',
      '0',
      '--signature-secret',
      'given-secret',
      '--application-id',
      applicationId,
      '--public-key',
      join(dir, 'public.key'),
    ]);
    const line = await run.line((l) => l.startsWith('  VONAGE_API_HOST='));
    const url = line.split('=')[1] as string;
    expect(run.output()).not.toContain('Generated credentials');
    expect(run.output()).toContain('VONAGE_SIGNATURE_SECRET=<the --signature-secret you gave>');
    expect(run.output()).not.toContain(ESC);
    const iat = Math.floor(Date.now() / 1000);
    const jwt = signRs256({ jti: randomUUID(), iat, exp: iat + 900, application_id: applicationId }, pair.privateKey);
    const answer = await fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'messenger', message_type: 'text', from: '1029', to: '2538', text: 'hi' }),
    });
    expect(answer.status).toBe(202);
    await run.line((l) => l.startsWith('POST /v1/messages 202 rejected 1430'));
    expect(await run.stop('SIGINT')).toBe(0);
    expect(run.output()).toContain('Stopped (SIGINT).');
  });

  it('exits 2 on a bad option value and 1 when the port is taken', async () => {
    expect((await cli(['sandbox', '--port', 'eighty'])).code).toBe(2);
    expect((await cli(['sandbox', '--application-id', 'x'])).stderr).toContain(
      '--application-id and --public-key go together',
    );
    expect((await cli(['sandbox', '--webhook-url', 'ftp://x'])).code).toBe(2);
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const result = await cli(['sandbox', '--port', String((busy.address() as AddressInfo).port)]);
    busy.close();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('vonage-messenger sandbox: cannot start: listen EADDRINUSE');
  });

  it('keeps running and stops with exit 0 after its stdout reader went away', async () => {
    const run = startCli(bin, ['sandbox', '--port', '0', '--json']);
    const { url, credentialsDir } = JSON.parse(await run.line((line) => line.includes('"listening"')));
    dirs.push(credentialsDir);
    run.closeOutput();
    // Each request is a line to the closed pipe; the sandbox must still answer them.
    for (let i = 0; i < 3; i++) expect((await fetch(`${url}/v1/messages`, { method: 'POST' })).status).toBe(401);
    expect(await run.stop('SIGINT')).toBe(0);
    expect(run.errors()).toBe('');
  });

  it('removes the credentials it generated when it cannot start', async () => {
    const tmp = tempDir();
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = String((busy.address() as AddressInfo).port);
    const env = { TMPDIR: tmp };
    try {
      const taken = await cli(['sandbox', '--port', port], { env });
      // 192.0.2.1 (TEST-NET-1) is no address of this machine: listen fails with EADDRNOTAVAIL.
      const foreign = await cli(['sandbox', '--port', '0', '--host', '192.0.2.1'], { env });
      expect([taken.code, foreign.code]).toEqual([1, 1]);
      expect(taken.stderr + foreign.stderr).toContain('cannot start');
    } finally {
      busy.close();
    }
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('names --public-key and its file when the file holds no public key (exit 2)', async () => {
    const file = join(tempDir(), 'public.key');
    writeFileSync(file, 'not a key\n');
    const result = await cli(['sandbox', '--port', '0', '--application-id', randomUUID(), '--public-key', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`vonage-messenger sandbox: --public-key: ${file} holds no PEM public key`);
  });
});

describe('trigger', () => {
  const secret = 'trigger-secret';
  // A messenger with an application checks the token's application_id claim.
  const applicationId = randomUUID();
  const statuses: StatusEvent[] = [];
  const texts: string[] = [];
  let server: Server;
  let url: string;

  beforeAll(async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const messenger = createMessenger({
      applicationId,
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      signatureSecret: secret,
    });
    const handler = toNodeHandler(
      messenger.webhookHandler({
        onMessage: (event) => {
          if (event.type === 'text') texts.push(event.text);
        },
        onStatus: (event) => {
          statuses.push(event);
        },
      }),
    );
    server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('posts a signed inbound message the SDK accepts (exit 0), in v1 and v0.1', async () => {
    const result = await cli([
      'trigger',
      'inbound',
      '--url',
      url,
      '--signature-secret',
      secret,
      '--application-id',
      applicationId,
      '--text',
      'from the CLI',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('\n200');
    const old = await cli([
      'trigger',
      'inbound',
      '--url',
      url,
      '--signature-secret',
      secret,
      '--application-id',
      applicationId,
      '--text',
      'old format',
      '--v0.1',
      '--json',
    ]);
    expect(old.code).toBe(0);
    expect(JSON.parse(old.stdout)).toMatchObject({
      status: 200,
      ok: true,
      sent: { message: { content: { text: 'old format' } } },
    });
    expect(texts).toEqual(['from the CLI', 'old format']);
  });

  it('posts a rejected status with its Vonage code', async () => {
    const result = await cli([
      'trigger',
      'status',
      '--url',
      url,
      '--signature-secret',
      secret,
      '--status',
      'rejected',
      '--code',
      '1370',
      '--application-id',
      applicationId,
      '--json',
    ]);
    expect(result.code).toBe(0);
    expect(statuses.at(-1)).toMatchObject({ status: 'rejected', error: { code: '1370' } });
  });

  it('exits 1 when the bot refuses the signature or cannot be reached', async () => {
    const wrongSecret = await cli(['trigger', 'inbound', '--url', url, '--signature-secret', 'wrong']);
    expect(wrongSecret.code).toBe(1);
    expect(wrongSecret.stdout).toContain('\n401');
    // Right secret, no application_id claim: the messenger's application check refuses it.
    const noApplication = await cli(['trigger', 'inbound', '--url', url, '--signature-secret', secret]);
    expect(noApplication.code).toBe(1);
    expect(noApplication.stdout).toContain('\n401');
    const port = await freePort();
    const unreachable = await cli([
      'trigger',
      'inbound',
      '--url',
      `http://127.0.0.1:${port}/x`,
      '--signature-secret',
      secret,
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('ECONNREFUSED');
  });

  it('says an empty --signature-secret is empty, even when VONAGE_SIGNATURE_SECRET is set (exit 2)', async () => {
    const env = { VONAGE_SIGNATURE_SECRET: secret };
    const triggered = await cli(['trigger', 'inbound', '--url', url, '--signature-secret', ''], { env });
    const inspected = await cli(['inspect-token', 'a.b.c', '--signature-secret', ''], { env });
    for (const result of [triggered, inspected]) {
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('--signature-secret is empty');
      expect(result.stderr).not.toContain('is required');
    }
  });

  it('exits 2 on usage errors', async () => {
    const lines = [
      ['trigger', '--url', url, '--signature-secret', secret],
      ['trigger', 'outbound', '--url', url, '--signature-secret', secret],
      ['trigger', 'inbound', '--signature-secret', secret],
      ['trigger', 'inbound', '--url', url],
      ['trigger', 'inbound', '--url', url, '--signature-secret', secret, '--code', '1340'],
      ['trigger', 'status', '--url', url, '--signature-secret', secret, '--code', '1340'],
      ['trigger', 'status', '--url', url, '--signature-secret', secret, '--status', 'rejected', '--code', '42'],
      ['trigger', 'status', '--url', url, '--signature-secret', secret, '--status', 'lost'],
      ['trigger', 'inbound', '--url', url, '--signature-secret', secret, '--psid', 'not-a-psid'],
    ];
    const codes = await Promise.all(lines.map(async (args) => ({ args, code: (await cli(args)).code })));
    expect(codes).toEqual(lines.map((args) => ({ args, code: 2 })));
  });
});

describe('inspect-token', () => {
  const secret = 'inspect-secret-value';
  const body = JSON.stringify(inboundText({ pageId: '1029', psid: '2538', text: 'hi' }));
  let bodyFile: string;

  beforeAll(() => {
    bodyFile = join(tempDir(), 'body.json');
    writeFileSync(bodyFile, body);
  });

  const inspect = (token: string, ...extra: string[]) =>
    cli(['inspect-token', token, '--signature-secret', secret, '--body', bodyFile, ...extra]);

  it('passes every check of a good token (exit 0) and never prints the secret', async () => {
    const { token } = signWebhook(body, secret, { applicationId: 'app-1' });
    const result = await inspect(`Bearer ${token}`, '--application-id', 'app-1', '--api-key', 'test-api-key');
    expect(result.code).toBe(0);
    const names = [
      'format',
      'algorithm',
      'signature',
      'iss',
      'iat',
      'jti',
      'api_key',
      'application_id',
      'payload_hash',
    ];
    for (const name of names) expect(result.stdout).toMatch(new RegExp(`^PASS ${name}`, 'm'));
    expect(result.stdout).toContain('Every check passed');
    expect(result.stdout + result.stderr).not.toContain(secret);
  });

  it('names each failed check with the verifier reason (exit 1)', async () => {
    const cases: Array<[string, string[], string, string]> = [
      [signWebhook(body, 'another-secret').token, [], 'signature', 'bad_signature'],
      [signWebhook(`${body} `, secret).token, [], 'payload_hash', 'payload_hash_mismatch'],
      [signWebhook(body, secret, { issuedAt: Date.now() - 10 * 60_000 }).token, [], 'iat', 'stale_token'],
      [signWebhook(body, secret, { issuer: 'Mallory' }).token, [], 'iss', 'wrong_issuer'],
      [signWebhook(body, secret).token, ['--api-key', 'mine'], 'api_key', 'wrong_api_key'],
      [signWebhook(body, secret).token, ['--application-id', 'app-2'], 'application_id', 'wrong_application'],
      [signWebhook(body, secret, { header: { alg: 'none' } }).token, [], 'algorithm', 'unsupported_algorithm'],
      ['not-a-jwt', [], 'format', 'malformed_token'],
    ];
    const results = await Promise.all(cases.map(([token, extra]) => inspect(token, ...extra)));
    for (const [index, [, , name, reason]] of cases.entries()) {
      const result = results[index] as CliResult;
      expect({ name, code: result.code }).toEqual({ name, code: 1 });
      expect(result.stdout).toMatch(new RegExp(`^FAIL ${name} .*\\[${reason}\\]$`, 'm'));
      expect(result.stdout).toContain('The SDK refuses this token (401)');
    }
  });

  it('says a token without application_id has none, with the verifier reason wrong_application', async () => {
    const result = await inspect(signWebhook(body, secret).token, '--application-id', 'app-1');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^FAIL application_id +The token has no application_id claim.*\[wrong_application\]$/m,
    );
  });

  it('agrees with the verifier on every token it is given (--json)', async () => {
    const verifier = createWebhookVerifier({ signatureSecret: secret });
    const tokens = [
      signWebhook(body, secret).token,
      signWebhook(body, secret, { claims: { payload_hash: undefined } }).token,
      signWebhook(body, secret, { claims: { jti: undefined } }).token,
      signWebhook(body, secret, { issuedAt: Date.now() + 10 * 60_000 }).token,
      signWebhook(body, secret, { claims: { iat: 'yesterday' } }).token,
      `${signWebhook(body, secret).token}x`,
    ];
    for (const token of tokens) {
      let accepted = true;
      try {
        verifier.check(token, body);
      } catch {
        accepted = false;
      }
      const report = JSON.parse((await inspect(token, '--json')).stdout) as { ok: boolean; checks: unknown[] };
      expect(report.checks).toHaveLength(9);
      expect(report.ok).toBe(accepted);
    }
  });

  it('reads the body from standard input with --body -, and skips payload_hash without a body', async () => {
    const { token } = signWebhook(body, secret);
    const piped = await cli(['inspect-token', token, '--signature-secret', secret, '--body', '-'], { input: body });
    expect(piped.code).toBe(0);
    expect(piped.stdout).toMatch(/^PASS payload_hash/m);
    const noBody = await cli(['inspect-token', token], { env: { VONAGE_SIGNATURE_SECRET: secret } });
    expect(noBody.code).toBe(0);
    expect(noBody.stdout).toMatch(/^SKIP payload_hash/m);
    expect(noBody.stdout).toContain('not checked: payload_hash');
  });

  it('exits 2 without a token, a secret or a readable body', async () => {
    expect((await cli(['inspect-token', '--signature-secret', secret])).code).toBe(2);
    expect((await cli(['inspect-token', 'a.b.c'])).code).toBe(2);
    expect((await cli(['inspect-token', 'a.b.c', '--signature-secret', secret, '--body', '/no/such/file'])).code).toBe(
      2,
    );
  });
});

describe('doctor', () => {
  const keyFile = (bits: number) => {
    const file = join(tempDir(), `key-${bits}.pem`);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    return file;
  };

  it('passes a complete configuration: key, JWT, secret, createMessenger (exit 0)', async () => {
    const env = {
      VONAGE_APPLICATION_ID: randomUUID(),
      VONAGE_PRIVATE_KEY: keyFile(2048),
      VONAGE_SIGNATURE_SECRET: 'doctor-secret-value',
      VONAGE_API_HOST: 'http://127.0.0.1:3100',
    };
    const result = await cli(['doctor'], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^PASS VONAGE_PRIVATE_KEY +file .*: RSA, 2048 bits$/m);
    expect(result.stdout).toMatch(/^PASS JWT +RS256 minted, verifies/m);
    expect(result.stdout).toMatch(/^PASS VONAGE_SIGNATURE_SECRET +19 characters/m);
    expect(result.stdout).toMatch(/^PASS createMessenger/m);
    expect(result.stdout).not.toContain('doctor-secret-value');
    const pem = readFileSync(env.VONAGE_PRIVATE_KEY, 'utf8');
    const json = await cli(['doctor', '--json'], { env: { ...env, VONAGE_PRIVATE_KEY: pem.replace(/\n/g, '\\n') } });
    const report = JSON.parse(json.stdout) as { ok: boolean; checks: Array<{ name: string; detail: string }> };
    expect(report.ok).toBe(true);
    expect(report.checks.find((c) => c.name === 'VONAGE_PRIVATE_KEY')?.detail).toBe('PEM text: RSA, 2048 bits');
    expect(json.stdout).not.toContain('PRIVATE KEY-----');
  });

  it('says what is missing or wrong (exit 1)', async () => {
    const missing = await cli(['doctor'], { env: {} });
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/^FAIL VONAGE_APPLICATION_ID +not set/m);
    expect(missing.stdout).toMatch(/^FAIL VONAGE_PRIVATE_KEY +not set/m);
    expect(missing.stdout).toMatch(/^FAIL VONAGE_SIGNATURE_SECRET +not set/m);
    const weak = await cli(['doctor'], {
      env: { VONAGE_APPLICATION_ID: randomUUID(), VONAGE_PRIVATE_KEY: keyFile(1024), VONAGE_SIGNATURE_SECRET: 's' },
    });
    expect(weak.code).toBe(1);
    expect(weak.stdout).toMatch(
      /^FAIL VONAGE_PRIVATE_KEY +privateKey cannot sign an RS256 JWT: it is an RSA key of 1024 bits/m,
    );
    const badHost = await cli(['doctor'], {
      env: {
        VONAGE_APPLICATION_ID: randomUUID(),
        VONAGE_PRIVATE_KEY: keyFile(2048),
        VONAGE_SIGNATURE_SECRET: 's',
        VONAGE_API_HOST: 'http://api.example.com',
      },
    });
    expect(badHost.code).toBe(1);
    expect(badHost.stdout).toMatch(/^FAIL createMessenger +.*apiHost must be an https URL/m);
    const noFile = await cli(['doctor'], {
      env: { VONAGE_APPLICATION_ID: randomUUID(), VONAGE_PRIVATE_KEY: '/no/such/key', VONAGE_SIGNATURE_SECRET: 's' },
    });
    expect(noFile.stdout).toMatch(/^FAIL VONAGE_PRIVATE_KEY +privateKey is neither PEM text nor a readable file path/m);
  });

  it('--live sends no credentials when VONAGE_APPLICATION_ID is unset or createMessenger refuses the host', async () => {
    const authorizations: Array<string | undefined> = [];
    // 127.0.0.2 is this machine, but not a host createMessenger accepts plain http for.
    const api = createServer((request, response) => {
      authorizations.push(request.headers.authorization);
      response.writeHead(422).end('{}');
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.2', resolve));
    const { port } = api.address() as AddressInfo;
    const key = keyFile(2048);
    try {
      const noApplication = await cli(['doctor', '--live'], {
        env: { VONAGE_PRIVATE_KEY: key, VONAGE_SIGNATURE_SECRET: 's', VONAGE_API_HOST: `http://127.0.0.2:${port}` },
      });
      expect(noApplication.code).toBe(1);
      expect(noApplication.stdout).toMatch(/^SKIP --live +VONAGE_APPLICATION_ID is not set: no credentials sent$/m);
      const plainHttp = await cli(['doctor', '--live'], {
        env: {
          VONAGE_APPLICATION_ID: randomUUID(),
          VONAGE_PRIVATE_KEY: key,
          VONAGE_SIGNATURE_SECRET: 's',
          VONAGE_API_HOST: `http://127.0.0.2:${port}`,
        },
      });
      expect(plainHttp.code).toBe(1);
      expect(plainHttp.stdout).toMatch(/^FAIL createMessenger +.*apiHost must be an https URL/m);
      expect(plainHttp.stdout).toMatch(/^SKIP --live +createMessenger refuses this configuration/m);
      expect(authorizations).toEqual([]);
    } finally {
      await new Promise((resolve) => api.close(resolve));
    }
  });

  it('--live names why the API host cannot be reached', async () => {
    const result = await cli(['doctor', '--live'], {
      env: {
        VONAGE_APPLICATION_ID: randomUUID(),
        VONAGE_PRIVATE_KEY: keyFile(2048),
        VONAGE_SIGNATURE_SECRET: 's',
        VONAGE_API_HOST: `http://127.0.0.1:${await freePort()}`,
      },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAIL --live +cannot reach http:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/m);
  });
});
