/**
 * Checks a `POST /v1/messages` body the way the Messages API does for `channel: "messenger"`
 * and turns it into a plain message, or into the RFC 7807 answer Vonage would give. Pure.
 *
 * Limits (Messages API spec, `channelOptionsMessenger` and the Messenger `Text`/`Audio`
 * schemas; the Java and Python Vonage SDKs): `to`/`from` 1–50 characters, text 1–640
 * characters "including unicode", audio URL 10–2000 characters, `client_ref` ≤ 100,
 * `messenger.category` one of `response`/`update`/`message_tag`, and `messenger.tag` required
 * with `message_tag`.
 *
 * @module
 */
import {
  MESSAGING_CATEGORIES,
  type MessagingCategory,
  WEBHOOK_VERSIONS,
  type WebhookVersion,
} from '../../vocabulary.js';
import { type ProblemAnswer, type ProblemParameter, problems } from './problems.js';

/** Messenger message types Vonage sends. */
export type SandboxMessageType = 'text' | 'image' | 'audio' | 'video' | 'file';

/** A send, as the sandbox understood it. */
export interface SandboxMessage {
  /** Vonage's `message_type`. */
  messageType: SandboxMessageType;
  /** The Page ID. */
  from: string;
  /** The PSID. */
  to: string;
  /** The text, for `text`. */
  text?: string;
  /** The media URL, for the other types. */
  url?: string;
  /** `messenger.category`, `response` when left out (as Vonage does). */
  category: MessagingCategory;
  /** `messenger.tag`, for `message_tag`. */
  tag?: string;
  /** `client_ref`, echoed in status webhooks. */
  clientRef?: string;
  /** Per-message status webhook URL. */
  webhookUrl?: string;
  /** `webhook_version`: the wire format of this message's status webhooks. */
  webhookVersion?: WebhookVersion;
}

/** Result of {@link validateMessageBody}. */
export type ValidationOutcome = { ok: true; message: SandboxMessage } | { ok: false; problem: ProblemAnswer };

const TYPES: readonly SandboxMessageType[] = ['text', 'image', 'audio', 'video', 'file'];

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isId = (value: unknown): value is string => typeof value === 'string' && value.length >= 1 && value.length <= 50;

/** Unicode code points, what Vonage means by "640 characters including unicode". */
const codePoints = (text: string): number => {
  let count = 0;
  for (const _ of text) count++;
  return count;
};

function checkContent(type: SandboxMessageType, body: Record<string, unknown>): ProblemParameter[] {
  if (type === 'text') {
    const text = body.text;
    if (typeof text !== 'string' || text.length === 0) return [{ name: 'text', reason: 'is required.' }];
    if (codePoints(text) > 640) return [{ name: 'text', reason: 'must be at most 640 characters.' }];
    return [];
  }
  const content = body[type];
  const url = isObject(content) ? content.url : undefined;
  if (typeof url !== 'string' || url.length === 0) return [{ name: `${type}.url`, reason: 'is required.' }];
  if (type === 'audio' && (url.length < 10 || url.length > 2000)) {
    return [{ name: 'audio.url', reason: 'must be between 10 and 2000 characters.' }];
  }
  if (!URL.canParse(url)) return [{ name: `${type}.url`, reason: 'must be a valid URL.' }];
  return [];
}

function checkMessenger(value: unknown): {
  params: ProblemParameter[];
  category: SandboxMessage['category'];
  tag?: string;
} {
  if (value === undefined) return { params: [], category: 'response' };
  if (!isObject(value)) return { params: [{ name: 'messenger', reason: 'must be an object.' }], category: 'response' };
  const params: ProblemParameter[] = [];
  const rawCategory = value.category ?? 'response';
  const category = MESSAGING_CATEGORIES.find((c) => c === rawCategory);
  if (category === undefined) {
    params.push({ name: 'messenger.category', reason: 'Must be one of `response`, `update` or `message_tag`.' });
  }
  const tag = value.tag;
  if (tag !== undefined && (typeof tag !== 'string' || tag.length === 0)) {
    params.push({ name: 'messenger.tag', reason: 'must be a non-empty string.' });
  } else if (category === 'message_tag' && tag === undefined) {
    params.push({ name: 'messenger.tag', reason: 'is required when `category` is `message_tag`.' });
  }
  return {
    params,
    category: category ?? 'response',
    ...(typeof tag === 'string' && tag.length > 0 ? { tag } : {}),
  };
}

/**
 * Validates a parsed request body like Vonage does.
 *
 * @example
 * ```ts
 * const outcome = validateMessageBody(await request.json())
 * const answer = outcome.ok ? undefined : Response.json(outcome.problem.body, { status: outcome.problem.status })
 * ```
 */
export function validateMessageBody(body: unknown): ValidationOutcome {
  const fail = (problem: ProblemAnswer): ValidationOutcome => ({ ok: false, problem });
  if (!isObject(body)) return fail(problems.invalidJson('The request body must be a JSON object.'));
  if (body.channel !== 'messenger') return fail(problems.channel());
  const messageType = TYPES.find((t) => t === body.message_type);
  if (messageType === undefined) return fail(problems.messageType());
  if (!isId(body.to)) return fail(problems.recipient());
  if (!isId(body.from)) return fail(problems.sender());

  const contentParams = checkContent(messageType, body);
  const { webhook_url: webhookUrl, webhook_version: rawVersion } = body;
  const webhookVersion = WEBHOOK_VERSIONS.find((v) => v === rawVersion);
  if (webhookUrl !== undefined && (typeof webhookUrl !== 'string' || !URL.canParse(webhookUrl))) {
    contentParams.push({ name: 'webhook_url', reason: 'must be a valid URL.' });
  }
  if (rawVersion !== undefined && webhookVersion === undefined) {
    contentParams.push({ name: 'webhook_version', reason: 'Must be one of `v0.1` or `v1`.' });
  }
  if (contentParams.length > 0) return fail(problems.messageParams(contentParams));

  const clientRef = body.client_ref;
  if (clientRef !== undefined && (typeof clientRef !== 'string' || codePoints(clientRef) > 100)) {
    return fail(problems.clientReference());
  }

  const messenger = checkMessenger(body.messenger);
  if (messenger.params.length > 0) return fail(problems.channelParams(messenger.params));

  const message: SandboxMessage = {
    messageType,
    from: body.from,
    to: body.to,
    category: messenger.category,
  };
  if (messageType === 'text') message.text = body.text as string;
  else message.url = (body[messageType] as { url: string }).url;
  if (messenger.tag !== undefined) message.tag = messenger.tag;
  if (typeof clientRef === 'string') message.clientRef = clientRef;
  if (typeof webhookUrl === 'string') message.webhookUrl = webhookUrl;
  if (webhookVersion !== undefined) message.webhookVersion = webhookVersion;
  return { ok: true, message };
}
