/**
 * `vonage-messenger inspect-token`: "why does my webhook get 401?". Runs every check the
 * SDK's verifier makes (with its own code, src/webhooks/inspect.ts) and reports each.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { inspectWebhookToken } from '../webhooks/inspect.js';
import { type Command, EXIT, integer, mark, paint, signatureSecret, str, UsageError } from './io.js';

const HELP = `Usage: vonage-messenger inspect-token TOKEN --signature-secret S [options]

Decodes a webhook token (the Authorization header, with or without "Bearer ") and runs
every check the SDK makes before it accepts a webhook: format, algorithm (HS256), signature,
iss, iat age, jti, api_key, application_id and payload_hash against the body. Each is
reported as PASS or FAIL with the reason the SDK gives (WebhookVerificationError.reason).
The secret is never printed.

Options:
  --signature-secret S    the signature secret (required; or VONAGE_SIGNATURE_SECRET)
  --body FILE|-           the exact body received (a file, or - for standard input);
                          without it payload_hash is not checked
  --api-key KEY           the api_key the token must carry
  --application-id ID     the application_id the token must carry
  --tolerance SECONDS     how far iat may be from now (default 300, the SDK's default)
  --json                  print the report as JSON
  -h, --help              this help

Exit codes: 0 every check passed, 1 a check failed, 2 usage error.`;

export const inspectTokenCommand: Command = {
  name: 'inspect-token',
  summary: 'report every check of a webhook token, pass or fail',
  help: HELP,
  positionals: true,
  options: {
    'signature-secret': { type: 'string' },
    body: { type: 'string' },
    'api-key': { type: 'string' },
    'application-id': { type: 'string' },
    tolerance: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args, io) {
    if (args.positionals.length !== 1) throw new UsageError('give exactly one TOKEN');
    const token = args.positionals[0] as string;
    const secret = signatureSecret(args, io);
    const bodyPath = str(args, 'body');
    let body: Buffer | undefined;
    if (bodyPath === '-') body = await io.stdin();
    else if (bodyPath !== undefined) {
      try {
        body = readFileSync(bodyPath);
      } catch {
        throw new UsageError(`--body: cannot read ${bodyPath}`);
      }
    }
    const apiKey = str(args, 'api-key');
    const applicationId = str(args, 'application-id');
    const report = inspectWebhookToken(token, {
      signatureSecret: secret,
      toleranceSeconds: integer(args, 'tolerance', 300, 0, 31_536_000),
      ...(body !== undefined ? { body } : {}),
      ...(apiKey !== undefined ? { apiKey } : {}),
      ...(applicationId !== undefined ? { applicationId } : {}),
    });
    if (args.values.json === true) {
      io.out(`${JSON.stringify(report)}\n`);
    } else {
      const lines = [];
      if (report.header) lines.push(`header  ${JSON.stringify(report.header)}`);
      if (report.claims) lines.push(`claims  ${JSON.stringify(report.claims)}`, '');
      for (const check of report.checks) {
        const reason = check.reason ? ` [${check.reason}]` : '';
        lines.push(`${mark(io, check.result)} ${check.name.padEnd(15)} ${check.detail}${reason}`);
      }
      const failed = report.checks.filter((check) => check.result === 'fail').map((check) => check.name);
      const skipped = report.checks.filter((check) => check.result === 'skip').map((check) => check.name);
      lines.push(
        '',
        !report.ok
          ? paint(io, 'red', `The SDK refuses this token (401): ${failed.join(', ')} failed.`)
          : skipped.length > 0
            ? paint(io, 'yellow', `No check failed; not checked: ${skipped.join(', ')}.`)
            : paint(io, 'green', 'Every check passed: the SDK accepts this token (once: its jti is then claimed).'),
      );
      io.out(`${lines.join('\n')}\n`);
    }
    return report.ok ? EXIT.ok : EXIT.failed;
  },
};
