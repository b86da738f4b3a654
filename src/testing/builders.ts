/**
 * Builders for every webhook body Vonage posts for Messenger: inbound messages (text, image,
 * audio, video, file, unsupported) and message statuses (submitted, delivered, read,
 * rejected, undeliverable), in the current v1 wire format and the legacy v0.1 one.
 * Every field has a default (IDs, a fresh `message_uuid`, the current time) and can be
 * overridden; `extra` adds or replaces any top-level field, to build odd or hostile bodies.
 *
 * Sign a built body with `signWebhook` before handing it to `messenger.receive` or an HTTP
 * handler.
 *
 * Sources: Messages API spec (`messages-olympus.yml`: `InboundMessengerMessageCommon`,
 * `messageStatusMessenger`; v0.1: `messages-olympus.v0.yml`), Vonage's Messenger docs
 * (https://developer.vonage.com/messages/concepts/facebook).
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { MESSAGE_STATUSES, type MessageStatus, WEBHOOK_VERSIONS, type WebhookVersion } from '../vocabulary.js';
import {
  checkInstant,
  checkInteger,
  checkNames,
  checkObject,
  checkString,
  checkText,
  checkWord,
  typeError,
} from './sandbox/check.js';
import { messagesErrorDetail, messagesErrorType } from './sandbox/codes.js';

export type { WebhookVersion } from '../vocabulary.js';

/** The Page ID builders use when none is given. */
export const DEFAULT_PAGE_ID = '102290129340398';
/** The PSID builders use when none is given. Above 2^53 on purpose: it must stay a string. */
export const DEFAULT_PSID = '25381719828140932';

/** Message types a Messenger user can send (as Vonage reports them). */
export type InboundMessageType = 'text' | 'image' | 'audio' | 'video' | 'file' | 'unsupported';

/** Statuses Vonage reports for a Messenger message (the vocabulary's `MessageStatus`). */
export type MessageStatusValue = MessageStatus;

/** A v1 inbound Messenger message, flat and snake_case: `to` is the Page ID, `from` the PSID, one content field per `message_type`. */
export interface InboundMessageV1 {
  channel: 'messenger';
  /** Vonage's id of the message; the SDK dedupes on it. */
  message_uuid: string;
  to: string;
  from: string;
  /** ISO 8601 time Vonage received the message (the window starts here). */
  timestamp: string;
  message_type: InboundMessageType;
  text?: string;
  image?: { url: string };
  audio?: { url: string };
  video?: { url: string };
  file?: { url: string };
  [field: string]: unknown;
}

/** A v0.1 (legacy) inbound Messenger message: nested `to`/`from` (`id` is the Page ID / PSID) and `message.content`. */
export interface InboundMessageV01 {
  message_uuid: string;
  to: { type: 'messenger'; id: string };
  from: { type: 'messenger'; id: string };
  timestamp: string;
  direction: 'inbound';
  message: { content: { type: InboundMessageType; text?: string; [media: string]: unknown } };
  [field: string]: unknown;
}

/** The `error` of a v1 status: `title` holds the numeric code as a string. */
export interface StatusErrorV1 {
  type: string;
  /** The Vonage error code as a string, e.g. `"1340"`. */
  title: string;
  detail: string;
  instance: string;
}

/** A v1 message status for Messenger: `to` is the PSID, `from` the Page ID; `error` for `rejected` and `undeliverable`. */
export interface MessageStatusV1 {
  message_uuid: string;
  to: string;
  from: string;
  timestamp: string;
  status: MessageStatusValue;
  channel: 'messenger';
  error?: StatusErrorV1;
  client_ref?: string;
  /** What Vonage charged: `price` is a decimal string. */
  usage?: { currency: string; price: string };
  [field: string]: unknown;
}

/** A v0.1 message status: nested `to`/`from`, `error: { code, reason }`. */
export interface MessageStatusV01 {
  message_uuid: string;
  to: { type: 'messenger'; id: string };
  from: { type: 'messenger'; id: string };
  timestamp: string;
  status: MessageStatusValue;
  /** Set for `rejected` and `undeliverable`: the Vonage code (a number here) and its text. */
  error?: { code: number; reason: string };
  client_ref?: string;
  usage?: { currency: string; price: string };
  [field: string]: unknown;
}

/** The inbound body type for a version. */
export type InboundBody<V extends WebhookVersion> = V extends 'v0.1' ? InboundMessageV01 : InboundMessageV1;
/** The status body type for a version. */
export type StatusBody<V extends WebhookVersion> = V extends 'v0.1' ? MessageStatusV01 : MessageStatusV1;

/** Fields shared by every builder. */
export interface EventOptions<V extends WebhookVersion = 'v1'> {
  /** The Page. Default {@link DEFAULT_PAGE_ID}. */
  pageId?: string | undefined;
  /** The user. Default {@link DEFAULT_PSID}. */
  psid?: string | undefined;
  /** Default a fresh UUID. */
  messageUuid?: string | undefined;
  /** Default now. A string is used as given (Vonage has sent several formats). */
  timestamp?: Date | number | string | undefined;
  /** Wire format. Default `v1`. */
  version?: V | undefined;
  /** Top-level fields added last (they win); a field set to `undefined` is removed. */
  extra?: Record<string, unknown> | undefined;
}

/** Options of the media builders ({@link inboundImage} and the others). */
export interface InboundMediaOptions<V extends WebhookVersion = 'v1'> extends EventOptions<V> {
  /** Default a URL on example.com with the type's usual extension. */
  url?: string | undefined;
}

/** Options of {@link inboundText}. */
export interface InboundTextOptions<V extends WebhookVersion = 'v1'> extends EventOptions<V> {
  /** Default `"Hello"`. */
  text?: string | undefined;
}

/** The error of a refused message: a Vonage code (`1340`) or every field spelled out. */
export type StatusErrorInput = number | string | { code: number | string; detail?: string; instance?: string };

/** Options of {@link messageStatus}. */
export interface MessageStatusOptions<V extends WebhookVersion = 'v1'> extends EventOptions<V> {
  /** Default `delivered`. */
  status?: MessageStatusValue | undefined;
  /** The error, for `rejected` and `undeliverable` (default code 1340 for those). */
  error?: StatusErrorInput | undefined;
  /** Becomes `client_ref`: what the send's `clientRef` would echo. */
  clientRef?: string | undefined;
  /** Becomes `usage`: the price Vonage reports for the message. */
  usage?: { currency: string; price: string };
}

const DEFAULT_MEDIA_URL: Record<'image' | 'audio' | 'video' | 'file', string> = {
  image: 'https://example.com/image.jpg',
  audio: 'https://example.com/audio.mp3',
  video: 'https://example.com/video.mp4',
  file: 'https://example.com/file.pdf',
};

function isoTime(value: Date | number | string | undefined, where: string): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return new Date().toISOString();
  return new Date(checkInstant(value, where, 'timestamp')).toISOString();
}

// The names each builder takes. An odd body is built on purpose with `extra`; a name the
// builder does not know (`page` for `pageId`) is a typo that would leave the default in place.
const EVENT_OPTIONS: Readonly<Record<keyof EventOptions, true>> = {
  pageId: true,
  psid: true,
  messageUuid: true,
  timestamp: true,
  version: true,
  extra: true,
};
const TEXT_OPTIONS: Readonly<Record<keyof InboundTextOptions, true>> = { ...EVENT_OPTIONS, text: true };
const MEDIA_OPTIONS: Readonly<Record<keyof InboundMediaOptions, true>> = { ...EVENT_OPTIONS, url: true };
const STATUS_OPTIONS: Readonly<Record<keyof MessageStatusOptions, true>> = {
  ...EVENT_OPTIONS,
  status: true,
  error: true,
  clientRef: true,
  usage: true,
};

/**
 * Refuses what is clearly a mistake rather than an odd body: an unknown name, a wrong type,
 * a version that does not exist (it would silently build v1), an invalid date.
 */
function checkEventOptions(options: unknown, where: string, names: Readonly<Record<string, true>>): void {
  checkNames<Record<string, unknown>>(options, where, names);
  for (const name of ['pageId', 'psid', 'messageUuid', 'text', 'url', 'clientRef'] as const) {
    if (options[name] !== undefined) checkString(options[name], where, name);
  }
  if (options.version !== undefined) checkWord(options.version, where, 'version', WEBHOOK_VERSIONS);
  if (options.extra !== undefined) checkObject(options.extra, where, 'extra');
}

function withExtra<T extends Record<string, unknown>>(body: T, extra: Record<string, unknown> | undefined): T {
  if (extra === undefined) return body;
  const out: Record<string, unknown> = { ...body };
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete out[name];
    else out[name] = value;
  }
  return out as T;
}

function inbound<V extends WebhookVersion>(
  type: InboundMessageType,
  options: EventOptions<V>,
  content: Record<string, unknown>,
  where: string,
): InboundBody<V> {
  const pageId = options.pageId ?? DEFAULT_PAGE_ID;
  const psid = options.psid ?? DEFAULT_PSID;
  const messageUuid = options.messageUuid ?? randomUUID();
  const timestamp = isoTime(options.timestamp, where);
  if (options.version === 'v0.1') {
    const body: InboundMessageV01 = {
      message_uuid: messageUuid,
      to: { type: 'messenger', id: pageId },
      from: { type: 'messenger', id: psid },
      timestamp,
      direction: 'inbound',
      message: { content: { type, ...content } },
    };
    return withExtra(body, options.extra) as InboundBody<V>;
  }
  const body: InboundMessageV1 = {
    channel: 'messenger',
    message_uuid: messageUuid,
    to: pageId,
    from: psid,
    timestamp,
    message_type: type,
    ...content,
  };
  return withExtra(body, options.extra) as InboundBody<V>;
}

/**
 * An inbound text message: the user wrote to the Page.
 *
 * @example
 * ```ts
 * const body = inboundText({ pageId: '1029', psid: '2538', text: 'Where is my order?' })
 * const { headers } = signWebhook(body, signatureSecret)
 * ```
 */
export function inboundText<V extends WebhookVersion = 'v1'>(options: InboundTextOptions<V> = {}): InboundBody<V> {
  checkEventOptions(options, 'inboundText', TEXT_OPTIONS);
  return inbound('text', options, { text: options.text ?? 'Hello' }, 'inboundText');
}

function media<V extends WebhookVersion>(
  type: keyof typeof DEFAULT_MEDIA_URL,
  options: InboundMediaOptions<V>,
  where: string,
): InboundBody<V> {
  checkEventOptions(options, where, MEDIA_OPTIONS);
  return inbound(type, options, { [type]: { url: options.url ?? DEFAULT_MEDIA_URL[type] } }, where);
}

/**
 * An inbound image (a URL to Vonage's copy of the file).
 *
 * @example
 * ```ts
 * const body = inboundImage({ url: 'https://example.com/receipt.png' })
 * ```
 */
export function inboundImage<V extends WebhookVersion = 'v1'>(options: InboundMediaOptions<V> = {}): InboundBody<V> {
  return media('image', options, 'inboundImage');
}

/**
 * An inbound audio message.
 *
 * @example
 * ```ts
 * const body = inboundAudio({ psid: '2538' })
 * ```
 */
export function inboundAudio<V extends WebhookVersion = 'v1'>(options: InboundMediaOptions<V> = {}): InboundBody<V> {
  return media('audio', options, 'inboundAudio');
}

/**
 * An inbound video.
 *
 * @example
 * ```ts
 * const body = inboundVideo({ url: 'https://example.com/clip.mp4' })
 * ```
 */
export function inboundVideo<V extends WebhookVersion = 'v1'>(options: InboundMediaOptions<V> = {}): InboundBody<V> {
  return media('video', options, 'inboundVideo');
}

/**
 * An inbound file.
 *
 * @example
 * ```ts
 * const body = inboundFile({ url: 'https://example.com/invoice.pdf', version: 'v0.1' })
 * ```
 */
export function inboundFile<V extends WebhookVersion = 'v1'>(options: InboundMediaOptions<V> = {}): InboundBody<V> {
  return media('file', options, 'inboundFile');
}

/**
 * A message of a type Messenger-over-Vonage does not carry (a sticker, a location): Vonage
 * reports `message_type: "unsupported"` with no content. It still opens the window.
 *
 * @example
 * ```ts
 * const body = inboundUnsupported({ psid: '2538' })
 * ```
 */
export function inboundUnsupported<V extends WebhookVersion = 'v1'>(options: EventOptions<V> = {}): InboundBody<V> {
  checkEventOptions(options, 'inboundUnsupported', EVENT_OPTIONS);
  return inbound('unsupported', options, {}, 'inboundUnsupported');
}

/** Any code may be given (odd codes are a feature), but as a whole number, text or `{ code }`. */
function checkStatusError(input: unknown, where: string): asserts input is StatusErrorInput {
  if (typeof input === 'number') return checkInteger(input, where, 'error', 0);
  if (typeof input === 'string') return checkText(input, where, 'error');
  if (input === null || typeof input !== 'object') {
    throw typeError(where, 'error', 'a code (1340, "1340") or { code, detail?, instance? }', input);
  }
  checkNames<Exclude<StatusErrorInput, number | string>>(input, `${where}: error`, {
    code: true,
    detail: true,
    instance: true,
  });
  if (typeof input.code === 'number') checkInteger(input.code, where, 'error.code', 0);
  else checkText(input.code, where, 'error.code');
  if (input.detail !== undefined) checkString(input.detail, where, 'error.detail');
  if (input.instance !== undefined) checkString(input.instance, where, 'error.instance');
}

function statusError(input: StatusErrorInput): { code: string; detail: string; instance: string } {
  if (typeof input === 'object') {
    return {
      code: String(input.code),
      detail: input.detail ?? messagesErrorDetail(input.code),
      instance: input.instance ?? randomUUID(),
    };
  }
  return { code: String(input), detail: messagesErrorDetail(input), instance: randomUUID() };
}

/**
 * A message status: what Vonage posts to the status URL after a send. `rejected` and
 * `undeliverable` carry an error (default 1340, "Outside of the allowed window").
 *
 * @example
 * ```ts
 * const delivered = messageStatus({ messageUuid, status: 'delivered' })
 * const refused = messageStatus({ messageUuid, status: 'rejected', error: 1370 })
 * ```
 */
export function messageStatus<V extends WebhookVersion = 'v1'>(options: MessageStatusOptions<V> = {}): StatusBody<V> {
  const where = 'messageStatus';
  checkEventOptions(options, where, STATUS_OPTIONS);
  const status = options.status ?? 'delivered';
  checkWord(status, where, 'status', MESSAGE_STATUSES);
  const failed = status === 'rejected' || status === 'undeliverable';
  if (options.error !== undefined) {
    // Vonage puts an error on a failed status only; on `delivered` the parser would read a
    // failure that never happened. An odd body with one anyway: `extra: { error }`.
    if (!failed) throw new TypeError(`${where}: error goes with status rejected or undeliverable, not "${status}"`);
    checkStatusError(options.error, where);
  }
  if (options.usage !== undefined) {
    checkNames<NonNullable<MessageStatusOptions['usage']>>(options.usage, `${where}: usage`, {
      currency: true,
      price: true,
    });
    checkString(options.usage.currency, where, 'usage.currency');
    checkString(options.usage.price, where, 'usage.price');
  }
  const pageId = options.pageId ?? DEFAULT_PAGE_ID;
  const psid = options.psid ?? DEFAULT_PSID;
  const errorInput = options.error ?? (failed ? 1340 : undefined);
  const error = errorInput === undefined ? undefined : statusError(errorInput);
  const common = {
    message_uuid: options.messageUuid ?? randomUUID(),
    timestamp: isoTime(options.timestamp, where),
    status,
    ...(options.clientRef !== undefined ? { client_ref: options.clientRef } : {}),
    ...(options.usage !== undefined ? { usage: options.usage } : {}),
  };
  if (options.version === 'v0.1') {
    const body: MessageStatusV01 = {
      ...common,
      to: { type: 'messenger', id: psid },
      from: { type: 'messenger', id: pageId },
      ...(error ? { error: { code: Number(error.code), reason: error.detail } } : {}),
    };
    return withExtra(body, options.extra) as StatusBody<V>;
  }
  const body: MessageStatusV1 = {
    message_uuid: common.message_uuid,
    to: psid,
    from: pageId,
    timestamp: common.timestamp,
    status,
    channel: 'messenger',
    ...(error
      ? {
          error: {
            type: messagesErrorType(error.code),
            title: error.code,
            detail: error.detail,
            instance: error.instance,
          },
        }
      : {}),
    ...(options.clientRef !== undefined ? { client_ref: options.clientRef } : {}),
    ...(options.usage !== undefined ? { usage: options.usage } : {}),
  };
  return withExtra(body, options.extra) as StatusBody<V>;
}
