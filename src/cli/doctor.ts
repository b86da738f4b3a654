/**
 * `vonage-messenger doctor`: checks the `VONAGE_*` configuration the README uses, with the
 * SDK's own loaders and signers, and says what is missing or wrong. `--live` makes one
 * authenticated call to the real Messages API.
 *
 * @module
 */
import { createPrivateKey, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { ValidationError } from '../errors.js';
import { createMessenger, DEFAULT_API_HOST } from '../messenger.js';
import { jwtAuth, loadPrivateKey } from '../send/auth.js';
import { signWebhook } from '../testing/sign.js';
import { createWebhookVerifier } from '../webhooks/verify.js';
import { type Command, EXIT, failureReason, mark, paint } from './io.js';

const HELP = `Usage: vonage-messenger doctor [--live] [--json]

Reads the variables the README uses and checks them with the SDK's own code:
  VONAGE_APPLICATION_ID     set, and a UUID
  VONAGE_PRIVATE_KEY        PEM text or a file path; parses; RSA of 2048 bits or more
                            (then a JWT is minted and verified against its public key)
  VONAGE_SIGNATURE_SECRET   set; a webhook signed with it passes the SDK's verifier
  VONAGE_API_HOST           optional; https (http only for localhost), as createMessenger requires
  VONAGE_API_KEY            optional; the api_key claim webhooks are checked against
Nothing secret is printed.

Options:
  --live       also make one authenticated call to the Messages API at VONAGE_API_HOST
               (default ${DEFAULT_API_HOST}): POST /v1/messages with an empty body. Vonage
               checks the JWT first: 401 means the credentials are refused; 422 means they
               are accepted (the empty message is invalid, so nothing is sent).
  --json       print the checks as JSON
  -h, --help   this help

Exit codes: 0 every check passed, 1 a check failed, 2 usage error.`;

interface Check {
  name: string;
  result: 'pass' | 'fail' | 'warn' | 'skip';
  detail: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

async function live(host: string, header: string): Promise<Check> {
  const name = '--live';
  try {
    const response = await fetch(new URL('/v1/messages', host), {
      method: 'POST',
      headers: { authorization: header, 'content-type': 'application/json', accept: 'application/json' },
      body: '{}',
      signal: AbortSignal.timeout(15_000),
    });
    const body = (await response.json().catch(() => ({}))) as { title?: string; detail?: string };
    const said = `${response.status} ${body.title ?? ''}`.trim();
    if (response.status === 401 || response.status === 403) {
      return { name, result: 'fail', detail: `${host} refused the credentials: ${said}` };
    }
    if (response.status === 400 || response.status === 422) {
      return { name, result: 'pass', detail: `${host} accepted the JWT (${said} for the empty message; nothing sent)` };
    }
    return { name, result: 'warn', detail: `${host} answered ${said}` };
  } catch (error) {
    return { name, result: 'fail', detail: `cannot reach ${host}: ${failureReason(error)}` };
  }
}

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check the VONAGE_* configuration',
  help: HELP,
  options: { live: { type: 'boolean' }, json: { type: 'boolean' } },
  async run(args, io) {
    const env = io.env;
    const checks: Check[] = [];
    const applicationId = env.VONAGE_APPLICATION_ID;
    if (applicationId === undefined || applicationId === '') {
      checks.push({ name: 'VONAGE_APPLICATION_ID', result: 'fail', detail: 'not set (Dashboard → Applications)' });
    } else {
      checks.push({
        name: 'VONAGE_APPLICATION_ID',
        result: UUID.test(applicationId) ? 'pass' : 'warn',
        detail: UUID.test(applicationId) ? applicationId : `${applicationId} is not a UUID, as Vonage's are`,
      });
    }

    let jwtHeader: string | undefined;
    const rawKey = env.VONAGE_PRIVATE_KEY;
    if (rawKey === undefined || rawKey === '') {
      checks.push({
        name: 'VONAGE_PRIVATE_KEY',
        result: 'fail',
        detail: 'not set (PEM text or the path of private.key)',
      });
    } else {
      try {
        const pem = loadPrivateKey(rawKey);
        const key = createPrivateKey(typeof pem === 'string' ? pem : Buffer.from(pem));
        const form = rawKey.includes('-----BEGIN') ? 'PEM text' : `file ${rawKey}`;
        const bits = key.asymmetricKeyDetails?.modulusLength;
        const auth = jwtAuth({
          applicationId: applicationId || '00000000-0000-0000-0000-000000000000',
          privateKey: pem,
        });
        checks.push({ name: 'VONAGE_PRIVATE_KEY', result: 'pass', detail: `${form}: RSA, ${bits} bits` });
        jwtHeader = auth.header();
        const token = jwtHeader.slice('Bearer '.length);
        const [head, claims, signature] = token.split('.') as [string, string, string];
        const valid = cryptoVerify(
          'sha256',
          Buffer.from(`${head}.${claims}`),
          createPublicKey(key),
          Buffer.from(signature, 'base64url'),
        );
        const decoded = JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')) as { exp: number; iat: number };
        checks.push({
          name: 'JWT',
          result: valid ? 'pass' : 'fail',
          detail: valid
            ? `RS256 minted, verifies with the key's public half, expires in ${decoded.exp - decoded.iat} s`
            : 'the minted JWT does not verify with the public key',
        });
      } catch (error) {
        checks.push({
          name: 'VONAGE_PRIVATE_KEY',
          result: 'fail',
          detail: error instanceof ValidationError ? error.message : `cannot be used: ${message(error)}`,
        });
      }
    }

    const secret = env.VONAGE_SIGNATURE_SECRET;
    if (secret === undefined || secret === '') {
      checks.push({
        name: 'VONAGE_SIGNATURE_SECRET',
        result: 'fail',
        detail: 'not set (Dashboard → Settings → signature secret); webhooks cannot be verified',
      });
    } else {
      try {
        const apiKey = env.VONAGE_API_KEY || undefined;
        const signed = signWebhook({ probe: true }, secret, apiKey !== undefined ? { apiKey } : {});
        createWebhookVerifier({ signatureSecret: secret, ...(apiKey !== undefined ? { apiKey } : {}) }).check(
          signed.token,
          signed.body,
        );
        const trimmed = secret.trim() !== secret;
        checks.push({
          name: 'VONAGE_SIGNATURE_SECRET',
          result: trimmed ? 'warn' : 'pass',
          detail: trimmed
            ? `${secret.length} characters, with leading or trailing spaces (copied with the value?)`
            : `${secret.length} characters; a webhook signed with it passes the verifier`,
        });
      } catch (error) {
        checks.push({ name: 'VONAGE_SIGNATURE_SECRET', result: 'fail', detail: message(error) });
      }
    }

    const apiHost = env.VONAGE_API_HOST || undefined;
    let refused = false;
    if (applicationId && rawKey) {
      try {
        const messenger = createMessenger({
          applicationId,
          privateKey: rawKey,
          ...(secret ? { signatureSecret: secret } : {}),
          ...(apiHost !== undefined ? { apiHost } : {}),
        });
        await messenger.close();
        checks.push({
          name: 'createMessenger',
          result: 'pass',
          detail: `accepts this configuration (API host ${apiHost ?? `${DEFAULT_API_HOST}, the default`})`,
        });
      } catch (error) {
        refused = true;
        checks.push({ name: 'createMessenger', result: 'fail', detail: message(error) });
      }
    }

    if (args.values.live === true) {
      const skip = (detail: string) => checks.push({ name: '--live', result: 'skip', detail });
      // The JWT is a credential: it goes only where createMessenger would send it, and only for
      // the application it names (the stand-in id of the JWT check would earn a misleading 401).
      if (jwtHeader === undefined) skip('no usable key: no JWT to send');
      else if (!applicationId) skip('VONAGE_APPLICATION_ID is not set: no credentials sent');
      else if (refused) skip('createMessenger refuses this configuration (above): no credentials sent');
      else checks.push(await live(apiHost ?? DEFAULT_API_HOST, jwtHeader));
    }

    const ok = checks.every((check) => check.result !== 'fail');
    if (args.values.json === true) {
      io.out(`${JSON.stringify({ ok, checks })}\n`);
    } else {
      const lines = checks.map((check) => `${mark(io, check.result)} ${check.name.padEnd(24)} ${check.detail}`);
      lines.push(
        '',
        ok ? paint(io, 'green', 'Ready to send and receive.') : paint(io, 'red', 'Fix the FAIL lines above.'),
      );
      io.out(`${lines.join('\n')}\n`);
    }
    return ok ? EXIT.ok : EXIT.failed;
  },
};
