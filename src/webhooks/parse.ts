/**
 * Messenger webhook JSON → {@link MessengerEvent}. Pure, hand-written (it runs on every
 * webhook, so no schema library on the hot path), and total: any input either becomes an
 * event or throws `ValidationError` with the path of the problem — never a `TypeError`.
 *
 * Only own properties of the parsed JSON are read, so `__proto__` or `constructor` keys in a
 * body are plain data and pollute nothing. IDs stay strings; a numeric ID is refused, because
 * a PSID above 2^53 has already lost digits by the time it is a JavaScript number.
 *
 * Formats (Vonage Messages API reference, and the variants in Vonage's own SDK fixtures and
 * tutorials): v1 is flat (`to` = Page ID, `from` = PSID for inbound; reversed for statuses),
 * v0.1 nests `to`/`from` as `{ type, id }` and the content in `message.content`.
 *
 * @module
 */
import { utf8Decode } from '../bytes.js';
import { ValidationError } from '../errors.js';
import { MAX_ID_DIGITS, type PageId, type Psid } from '../ids.js';
import { MESSAGE_STATUSES } from '../vocabulary.js';
import type {
  DispatchEvent,
  InboundMessageEvent,
  MessageStatus,
  MessengerEvent,
  StatusError,
  StatusEvent,
  StatusUsage,
  WebhookVersion,
} from './events.js';

type Json = Record<string, unknown>;

const MAX_UUID_LENGTH = 256;
const ID = new RegExp(`^[0-9]{1,${MAX_ID_DIGITS}}$`);
const STATUSES: ReadonlySet<string> = new Set(MESSAGE_STATUSES);
const MEDIA: ReadonlySet<string> = new Set(['image', 'audio', 'video', 'file']);

const invalid = (path: string, message: string): never => {
  throw new ValidationError(`Invalid Messenger webhook: ${path ? `${path} ` : ''}${message}`, [{ path, message }]);
};

const own = (obj: Json, key: string): unknown => (Object.hasOwn(obj, key) ? obj[key] : undefined);

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function objectAt(obj: Json, key: string, path: string): Json {
  const value = own(obj, key);
  if (!isObject(value)) return invalid(path, 'must be an object');
  return value;
}

function stringAt(obj: Json, key: string, path: string, max = Number.POSITIVE_INFINITY): string {
  const value = own(obj, key);
  if (typeof value !== 'string' || value.length === 0) return invalid(path, 'must be a non-empty string');
  if (value.length > max) return invalid(path, `is longer than ${max} characters`);
  return value;
}

function idAt(obj: Json, key: string, path: string, label: string): string {
  const value = own(obj, key);
  if (typeof value === 'number') {
    return invalid(path, `(${label}) is a number; IDs must be strings (digits beyond 2^53 are lost in a number)`);
  }
  if (typeof value !== 'string' || !ID.test(value)) {
    return invalid(path, `(${label}) must be a string of 1-${MAX_ID_DIGITS} digits`);
  }
  return value;
}

// 2020-01-01T14:00:00.000Z · 2020-01-01T15:43:21Z · 2020-01-01 14:00:00 UTC · 2020-01-01 15:43:21 +0200
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(?:([Zz]|UTC|GMT)|([+-])(\d{2})(?::?(\d{2}))?)?$/;

/**
 * Parses the timestamp forms Vonage has been seen to send. A time without a zone is read as
 * UTC (Vonage's clocks are UTC). Returns epoch ms, or `undefined` when it is not a timestamp.
 *
 * @example
 * ```ts
 * parseVonageTimestamp('2020-01-01 14:00:00 UTC') // 1577887200000
 * ```
 */
export function parseVonageTimestamp(text: string): number | undefined {
  if (text.length === 24 && isCanonicalIso(text)) return canonicalIso(text)?.getTime();
  return parseOtherForms(text);
}

/**
 * The common case, "2020-01-01T14:00:00.000Z", through the engine's ISO parser. It accepts
 * "02-30" and "24:00" by rolling over, which the day check catches. Returns the Date it
 * checked with, so the event reuses it.
 */
function canonicalIso(text: string): Date | undefined {
  const date = new Date(Date.parse(text));
  const day = (text.charCodeAt(8) - 48) * 10 + (text.charCodeAt(9) - 48);
  return date.getUTCDate() === day ? date : undefined;
}

function parseOtherForms(text: string): number | undefined {
  if (text.length > 64) return undefined;
  const m = TIMESTAMP.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  // A leap second (":60") is read as the last instant of the minute.
  const second = Math.min(Number(s ?? '0'), 59.999);
  const ms = frac === undefined ? 0 : Math.floor(Number(`0.${frac}`) * 1000);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || Number(s ?? '0') > 60) return undefined;
  const base = Date.UTC(year, month - 1, day, hour, minute, 0, 0);
  if (new Date(base).getUTCDate() !== day) return undefined; // 2021-02-30
  let offsetMinutes = 0;
  if (sign !== undefined) {
    const hours = Number(oh);
    const minutes = Number(om ?? '0');
    if (hours > 23 || minutes > 59) return undefined;
    offsetMinutes = (sign === '-' ? -1 : 1) * (hours * 60 + minutes);
  }
  return base + Math.floor(second * 1000) + ms - offsetMinutes * 60_000;
}

const ISO_SHAPE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function isCanonicalIso(text: string): boolean {
  return text.charCodeAt(10) === 84 /* T */ && text.charCodeAt(23) === 90 /* Z */ && ISO_SHAPE.test(text);
}

function timestampAt(obj: Json, key: string, path: string): Date {
  const value = own(obj, key);
  if (typeof value !== 'string') return invalid(path, 'must be a timestamp string');
  if (value.length === 24 && isCanonicalIso(value)) {
    const date = canonicalIso(value);
    if (date !== undefined) return date;
  }
  const ms = parseOtherForms(value);
  if (ms === undefined) return invalid(path, `is not a timestamp Vonage sends: ${JSON.stringify(value.slice(0, 40))}`);
  return new Date(ms);
}

function checkChannel(value: unknown, path: string): void {
  if (value === 'messenger') return;
  if (typeof value === 'string') {
    invalid(
      path,
      `is "${value.slice(0, 40)}", not "messenger": this SDK handles only Facebook Messenger; route other channels' webhooks elsewhere`,
    );
  }
  invalid(path, 'must be "messenger"');
}

/** `{ type: 'messenger', id }` of the v0.1 format, in either key order. */
function nestedId(obj: Json, key: string, label: string): string {
  const party = objectAt(obj, key, key);
  checkChannel(own(party, 'type'), `${key}.type`);
  return idAt(party, 'id', `${key}.id`, label);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function clientRefOf(obj: Json): string | undefined {
  const value = own(obj, 'client_ref');
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function usageOf(obj: Json): StatusUsage | undefined {
  const usage = own(obj, 'usage');
  if (!isObject(usage)) return undefined;
  const currency = own(usage, 'currency');
  const price = own(usage, 'price');
  if (typeof currency !== 'string') return undefined;
  if (typeof price === 'string') return { currency, price };
  if (typeof price === 'number' && Number.isFinite(price)) return { currency, price: String(price) };
  return undefined;
}

const CODE = /^[0-9]{1,10}$/;

function errorOf(obj: Json): StatusError | undefined {
  const error = own(obj, 'error');
  if (!isObject(error)) return undefined;
  const title = own(error, 'title');
  const type = optionalString(own(error, 'type'));
  const detail = optionalString(own(error, 'detail')) ?? optionalString(own(error, 'reason'));
  const instance = optionalString(own(error, 'instance'));
  let code: string | undefined;
  const v0code = own(error, 'code');
  if (typeof title === 'string' && CODE.test(title)) code = title;
  else if (typeof title === 'number' && Number.isSafeInteger(title)) code = String(title);
  else if (typeof v0code === 'number' && Number.isSafeInteger(v0code)) code = String(v0code);
  else if (typeof v0code === 'string' && CODE.test(v0code)) code = v0code;
  else if (type !== undefined) code = /#([0-9]{1,10})$/.exec(type)?.[1];
  const titleText = typeof title === 'string' ? title : typeof title === 'number' ? String(title) : undefined;
  const result: { -readonly [K in keyof StatusError]: StatusError[K] } = { code };
  if (type !== undefined) result.type = type;
  if (titleText !== undefined) result.title = titleText;
  if (detail !== undefined) result.detail = detail;
  if (instance !== undefined) result.instance = instance;
  return result;
}

function parseStatus(obj: Json, version: WebhookVersion): StatusEvent {
  if (version === 'v1') checkChannel(own(obj, 'channel'), 'channel');
  const status = own(obj, 'status');
  if (typeof status !== 'string' || !STATUSES.has(status)) {
    return invalid('status', 'must be one of submitted, delivered, read, rejected, undeliverable');
  }
  let pageId: string;
  let psid: string;
  if (version === 'v1') {
    pageId = idAt(obj, 'from', 'from', 'Page ID');
    psid = idAt(obj, 'to', 'to', 'PSID');
  } else {
    pageId = nestedId(obj, 'from', 'Page ID');
    psid = nestedId(obj, 'to', 'PSID');
  }
  // Built as one literal and then extended: object spread costs microseconds per webhook.
  const event: { -readonly [K in keyof StatusEvent]: StatusEvent[K] } = {
    kind: 'status',
    channel: 'messenger',
    status: status as MessageStatus,
    messageUuid: stringAt(obj, 'message_uuid', 'message_uuid', MAX_UUID_LENGTH),
    pageId: pageId as PageId,
    psid: psid as Psid,
    timestamp: timestampAt(obj, 'timestamp', 'timestamp'),
    webhookVersion: version,
    raw: obj,
  };
  const clientRef = clientRefOf(obj);
  if (clientRef !== undefined) event.clientRef = clientRef;
  const error = errorOf(obj);
  if (error !== undefined) event.error = error;
  const usage = usageOf(obj);
  if (usage !== undefined) event.usage = usage;
  return event;
}

function parseInbound(obj: Json, version: WebhookVersion): InboundMessageEvent {
  let pageId: string;
  let psid: string;
  let content: Json;
  let typePath: string;
  let messageType: unknown;
  if (version === 'v1') {
    checkChannel(own(obj, 'channel'), 'channel');
    pageId = idAt(obj, 'to', 'to', 'Page ID');
    psid = idAt(obj, 'from', 'from', 'PSID');
    content = obj;
    typePath = 'message_type';
    messageType = own(obj, 'message_type');
  } else {
    pageId = nestedId(obj, 'to', 'Page ID');
    psid = nestedId(obj, 'from', 'PSID');
    content = objectAt(objectAt(obj, 'message', 'message'), 'content', 'message.content');
    typePath = 'message.content.type';
    messageType = own(content, 'type');
  }
  const prefix = version === 'v1' ? '' : 'message.content.';
  const messageUuid = stringAt(obj, 'message_uuid', 'message_uuid', MAX_UUID_LENGTH);
  const timestamp = timestampAt(obj, 'timestamp', 'timestamp');
  const page = pageId as PageId;
  const user = psid as Psid;
  if (typeof messageType !== 'string' || messageType.length === 0) return invalid(typePath, 'must be a string');
  // One literal per type (no spread of a shared base: spreads cost microseconds per webhook).
  if (messageType === 'text') {
    const text = own(content, 'text');
    if (typeof text !== 'string') return invalid(`${prefix}text`, 'must be a string');
    return {
      kind: 'message',
      channel: 'messenger',
      type: 'text',
      text,
      messageUuid,
      pageId: page,
      psid: user,
      timestamp,
      webhookVersion: version,
      raw: obj,
    };
  }
  if (MEDIA.has(messageType)) {
    const media = objectAt(content, messageType, `${prefix}${messageType}`);
    const url = stringAt(media, 'url', `${prefix}${messageType}.url`);
    return {
      kind: 'message',
      channel: 'messenger',
      type: messageType as 'image' | 'audio' | 'video' | 'file',
      url,
      messageUuid,
      pageId: page,
      psid: user,
      timestamp,
      webhookVersion: version,
      raw: obj,
    };
  }
  if (messageType === 'unsupported') {
    return {
      kind: 'message',
      channel: 'messenger',
      type: 'unsupported',
      messageUuid,
      pageId: page,
      psid: user,
      timestamp,
      webhookVersion: version,
      raw: obj,
    };
  }
  return {
    kind: 'message',
    channel: 'messenger',
    type: 'unknown',
    messageType: messageType.slice(0, 100),
    messageUuid,
    pageId: page,
    psid: user,
    timestamp,
    webhookVersion: version,
    raw: obj,
  };
}

function parseDispatch(obj: Json): DispatchEvent {
  const stamp = own(obj, 'timestamp');
  const ms = typeof stamp === 'string' ? parseVonageTimestamp(stamp) : undefined;
  return {
    kind: 'dispatch',
    dispatchUuid: stringAt(obj, 'dispatch_uuid', 'dispatch_uuid', MAX_UUID_LENGTH),
    status: optionalString(own(obj, 'status')),
    timestamp: ms === undefined ? undefined : new Date(ms),
    raw: obj,
  };
}

/** Decodes a body to its JSON value; bytes are read as UTF-8. */
export function decodeBody(body: string | Uint8Array): unknown {
  const text = typeof body === 'string' ? body : utf8Decode(body);
  try {
    return JSON.parse(text);
  } catch {
    return invalid('', 'body is not valid JSON');
  }
}

/**
 * Parses a Messenger webhook body (JSON text, bytes, or an already-parsed object) into a
 * {@link MessengerEvent}. Throws `ValidationError` for anything else, including webhooks of
 * other channels. Verify the signature first ({@link verifyWebhookSignature}), or use
 * `messenger.receive`, which does both.
 *
 * @example
 * ```ts
 * const event = parseWebhook('{"channel":"messenger","message_type":"text","text":"hi", ...}')
 * if (event.kind === 'message' && event.type === 'text') console.log(event.text)
 * ```
 */
export function parseWebhook(body: string | Uint8Array | object): MessengerEvent {
  const value = typeof body === 'string' || body instanceof Uint8Array ? decodeBody(body) : body;
  if (!isObject(value)) return invalid('', 'body must be a JSON object');
  if (own(value, 'dispatch_uuid') !== undefined) return parseDispatch(value);
  const version: WebhookVersion = isObject(own(value, 'to')) || isObject(own(value, 'from')) ? 'v0.1' : 'v1';
  if (own(value, 'status') !== undefined) return parseStatus(value, version);
  if (version === 'v1' ? own(value, 'message_type') !== undefined : own(value, 'message') !== undefined) {
    return parseInbound(value, version);
  }
  if (version === 'v1' && own(value, 'channel') !== undefined) checkChannel(own(value, 'channel'), 'channel');
  return invalid('', 'is neither an inbound message (message_type) nor a status (status)');
}
