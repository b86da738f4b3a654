/**
 * `vonage-messenger trigger inbound|status`: posts one webhook, signed exactly as Vonage
 * signs it, to a running bot, and prints the answer.
 *
 * @module
 */

import { inboundText, type MessageStatusValue, messageStatus } from '../testing/builders.js';
import { MESSAGES_ERRORS, type MessagesErrorCode } from '../testing/sandbox/codes.js';
import { signWebhook } from '../testing/sign.js';
import { MESSAGE_STATUSES } from '../vocabulary.js';
import { type Command, EXIT, failureReason, paint, required, signatureSecret, str, UsageError } from './io.js';
import { DEFAULT_PAGE, DEFAULT_USER } from './playground.js';

const STATUSES: readonly MessageStatusValue[] = MESSAGE_STATUSES;

const HELP = `Usage: vonage-messenger trigger inbound|status --url URL --signature-secret S [options]

Posts one webhook to a running bot, signed as Vonage signs it (HS256 JWT with iat, jti,
iss, payload_hash, api_key), and prints the bot's answer.

  inbound   a text message from the user (--text)
  status    a message status (--status, and --code for rejected/undeliverable)

Options:
  --url URL               the bot's webhook URL (required)
  --signature-secret S    the signature secret (required; or VONAGE_SIGNATURE_SECRET)
  --page ID               the Page ID (default ${DEFAULT_PAGE})
  --psid ID               the user's PSID (default ${DEFAULT_USER})
  --text TEXT             inbound: the text (default "Hello")
  --status STATUS         status: ${STATUSES.join(', ')} (default delivered)
  --code CODE             status: the Vonage error code of rejected/undeliverable (default 1340)
  --message-uuid UUID     the message UUID (default a fresh one)
  --api-key KEY           api_key claim (default test-api-key)
  --application-id ID     application_id claim (default none)
  --v0.1                  the v0.1 wire format (default v1)
  --json                  print the request and the answer as JSON
  -h, --help              this help

Exit codes: 0 the bot answered 2xx, 1 it answered otherwise or could not be reached, 2 usage error.`;

export const triggerCommand: Command = {
  name: 'trigger',
  summary: 'post a signed inbound or status webhook to a bot',
  help: HELP,
  positionals: true,
  options: {
    url: { type: 'string' },
    'signature-secret': { type: 'string' },
    page: { type: 'string' },
    psid: { type: 'string' },
    text: { type: 'string' },
    status: { type: 'string' },
    code: { type: 'string' },
    'message-uuid': { type: 'string' },
    'api-key': { type: 'string' },
    'application-id': { type: 'string' },
    'v0.1': { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run(args, io) {
    const kind = args.positionals[0];
    if (args.positionals.length !== 1 || (kind !== 'inbound' && kind !== 'status')) {
      throw new UsageError('say which webhook: trigger inbound or trigger status');
    }
    const url = required(args, 'url');
    try {
      if (!/^https?:$/.test(new URL(url).protocol)) throw new Error('not http');
    } catch {
      throw new UsageError(`--url must be an http(s) URL (got "${url}")`);
    }
    const secret = signatureSecret(args, io);
    const page = str(args, 'page') ?? DEFAULT_PAGE;
    const psid = str(args, 'psid') ?? DEFAULT_USER;
    if (!/^\d{1,32}$/.test(page) || !/^\d{1,32}$/.test(psid)) throw new UsageError('--page and --psid are numeric IDs');
    const version = args.values['v0.1'] === true ? 'v0.1' : 'v1';
    const messageUuid = str(args, 'message-uuid');
    const common = { pageId: page, psid, version, ...(messageUuid !== undefined ? { messageUuid } : {}) } as const;

    let body: object;
    if (kind === 'inbound') {
      if (str(args, 'status') !== undefined || str(args, 'code') !== undefined) {
        throw new UsageError('--status and --code belong to trigger status');
      }
      body = inboundText({ ...common, text: str(args, 'text') ?? 'Hello' });
    } else {
      if (str(args, 'text') !== undefined) throw new UsageError('--text belongs to trigger inbound');
      const status = (str(args, 'status') ?? 'delivered') as MessageStatusValue;
      if (!STATUSES.includes(status)) throw new UsageError(`--status is one of ${STATUSES.join(', ')}`);
      const codeText = str(args, 'code');
      const failed = status === 'rejected' || status === 'undeliverable';
      if (codeText !== undefined && !failed)
        throw new UsageError('--code goes with --status rejected or undeliverable');
      const code = Number(codeText ?? 1340);
      if (!Number.isInteger(code) || !(String(code) in MESSAGES_ERRORS)) {
        throw new UsageError(`--code is one of ${Object.keys(MESSAGES_ERRORS).join(', ')}`);
      }
      body = messageStatus({ ...common, status, ...(failed ? { error: code as MessagesErrorCode } : {}) });
    }

    const apiKey = str(args, 'api-key');
    const applicationId = str(args, 'application-id');
    const signed = signWebhook(body, secret, {
      ...(apiKey !== undefined ? { apiKey } : {}),
      ...(applicationId !== undefined ? { applicationId } : {}),
    });
    let status: number;
    let answer: string;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { ...signed.headers, 'user-agent': 'vonage-messenger-cli' },
        body: signed.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(15_000),
      });
      status = response.status;
      answer = await response.text();
    } catch (error) {
      const reason = failureReason(error);
      if (args.values.json === true)
        io.out(`${JSON.stringify({ url, sent: JSON.parse(signed.body), error: reason })}\n`);
      else io.err(`${paint(io, 'red', 'failed')}: POST ${url}: ${reason}\n`);
      return EXIT.failed;
    }
    const ok = status >= 200 && status < 300;
    if (args.values.json === true) {
      io.out(`${JSON.stringify({ url, sent: JSON.parse(signed.body), status, ok, body: answer })}\n`);
    } else {
      io.out(`POST ${url}\n${signed.body}\n\n${paint(io, ok ? 'green' : 'red', `${status}`)} ${answer}\n`);
    }
    return ok ? EXIT.ok : EXIT.failed;
  },
};
