/**
 * The events a Messenger webhook carries, as one discriminated union: switch on `kind`
 * (`message`, `status`, `dispatch`), then on `type` (messages) or `status` (statuses).
 *
 * Both of Vonage's webhook formats (v1, flat; v0.1, nested) become the same shape; the one
 * that arrived is in `webhookVersion`, and `raw` keeps the parsed body as it was.
 *
 * @module
 */
import type { PageId, Psid } from '../ids.js';

/**
 * Which of Vonage's webhook formats the event arrived in (Dashboard: "Webhook version").
 *
 * @example
 * ```ts
 * if (event.kind === 'message' && event.webhookVersion === 'v0.1') metrics.increment('legacy_webhook')
 * ```
 */
export type WebhookVersion = 'v1' | 'v0.1';

/** Fields every inbound message has. */
interface InboundMessageBase {
  /** Tells a message from a `status` or `dispatch` event. */
  readonly kind: 'message';
  /** Always `messenger`: this SDK handles no other channel. */
  readonly channel: 'messenger';
  /** Vonage's id of the message; a repeated one is a duplicate (Vonage retries). */
  readonly messageUuid: string;
  /** The Page the user wrote to (the inbound `to`). Reply `from` it. */
  readonly pageId: PageId;
  /** The user who wrote (the inbound `from`). Reply `to` it. */
  readonly psid: Psid;
  /** When the user sent it: the start of the 24-hour window. */
  readonly timestamp: Date;
  /** The wire format it arrived in; the event has the same shape either way. */
  readonly webhookVersion: WebhookVersion;
  /** The parsed body, unchanged. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/**
 * The user sent text.
 *
 * @example
 * ```ts
 * if (event.kind === 'message' && event.type === 'text') console.log(event.text)
 * ```
 */
export interface TextMessageEvent extends InboundMessageBase {
  /** Vonage's `message_type`. */
  readonly type: 'text';
  /** What the user wrote. */
  readonly text: string;
}

/**
 * The user sent an image, audio, video or file; `url` is Vonage's copy. Download it promptly: how
 * long Vonage keeps it is UNCONFIRMED (only a 2021 generic schema said 48 hours).
 *
 * @example
 * ```ts
 * if (event.kind === 'message' && event.type === 'image') await download(event.url)
 * ```
 */
export interface MediaMessageEvent<
  T extends 'image' | 'audio' | 'video' | 'file' = 'image' | 'audio' | 'video' | 'file',
> extends InboundMessageBase {
  /** Vonage's `message_type`. */
  readonly type: T;
  /** Where Vonage keeps the media (for how long: UNCONFIRMED). */
  readonly url: string;
}

/**
 * The user sent something Vonage does not support on Messenger (a sticker, a location…).
 *
 * @example
 * ```ts
 * if (event.kind === 'message' && event.type === 'unsupported') await reply('Sorry, I can only read text.')
 * ```
 */
export interface UnsupportedMessageEvent extends InboundMessageBase {
  /** Vonage's `message_type`: the content cannot be read through Vonage. */
  readonly type: 'unsupported';
}

/**
 * A `message_type` this SDK does not know yet; `messageType` names it and `raw` has the rest.
 *
 * @example
 * ```ts
 * if (event.kind === 'message' && event.type === 'unknown') log.info(event.messageType, event.raw)
 * ```
 */
export interface UnknownMessageEvent extends InboundMessageBase {
  /** Set by this SDK, not Vonage: see `messageType` for what arrived. */
  readonly type: 'unknown';
  /** The `message_type` as Vonage sent it. */
  readonly messageType: string;
}

/**
 * A message from a user to a Page. It opens (or extends) the messaging window.
 *
 * @example
 * ```ts
 * const onMessage = async (event: InboundMessageEvent) => {
 *   await messenger.sendText({ from: event.pageId, to: event.psid, text: 'Got it!' })
 * }
 * ```
 */
export type InboundMessageEvent =
  | TextMessageEvent
  | MediaMessageEvent<'image'>
  | MediaMessageEvent<'audio'>
  | MediaMessageEvent<'video'>
  | MediaMessageEvent<'file'>
  | UnsupportedMessageEvent
  | UnknownMessageEvent;

/**
 * The statuses Vonage reports for a Messenger message.
 *
 * @example
 * ```ts
 * const failed = (s: MessageStatus) => s === 'rejected' || s === 'undeliverable'
 * ```
 */
export type MessageStatus = 'submitted' | 'delivered' | 'read' | 'rejected' | 'undeliverable';

/**
 * Why Vonage refused or could not deliver a message.
 *
 * @example
 * ```ts
 * if (event.kind === 'status' && event.error?.code === '1340') console.log('outside the 24-hour window')
 * ```
 */
export interface StatusError {
  /**
   * The Messages API error code as a string (`"1340"` outside the window, `"1370"` expired
   * Page link, `"1021"` invalid tag…), from v1 `error.title` or v0.1 `error.code`.
   * `undefined` when the webhook carried none.
   */
  readonly code: string | undefined;
  /** v1 `error.type`: a documentation URL. */
  readonly type?: string;
  /** v1 `error.title` as sent (usually the code). */
  readonly title?: string;
  /** v1 `error.detail` or v0.1 `error.reason`: Vonage's text. */
  readonly detail?: string;
  /** v1 `error.instance`: Vonage's trace id. */
  readonly instance?: string;
}

/**
 * What Vonage charged for the message. `price` stays a string (a decimal, not a float).
 *
 * @example
 * ```ts
 * if (event.kind === 'status' && event.usage) ledger.add(event.usage.currency, event.usage.price)
 * ```
 */
export interface StatusUsage {
  /** ISO 4217 code, e.g. `EUR`. */
  readonly currency: string;
  /** The amount as Vonage wrote it, e.g. `"0.0050"`. */
  readonly price: string;
}

/**
 * The fate of a message the Page sent.
 *
 * @example
 * ```ts
 * const onStatus = (event: StatusEvent) => db.updateMessage(event.messageUuid, event.status)
 * ```
 */
export interface StatusEvent {
  /** Tells a status from a `message` or `dispatch` event. */
  readonly kind: 'status';
  /** Always `messenger`: this SDK handles no other channel. */
  readonly channel: 'messenger';
  /** Where the message is now; `rejected` and `undeliverable` carry `error`. */
  readonly status: MessageStatus;
  /** The `messageUuid` the send resolved to. */
  readonly messageUuid: string;
  /** The Page that sent (the status `from`). */
  readonly pageId: PageId;
  /** The user it was sent to (the status `to`). */
  readonly psid: Psid;
  /** When Vonage recorded this status. */
  readonly timestamp: Date;
  /** The wire format it arrived in; the event has the same shape either way. */
  readonly webhookVersion: WebhookVersion;
  /** The `clientRef` given to the send, echoed back. */
  readonly clientRef?: string;
  /** Present on `rejected` and `undeliverable`. */
  readonly error?: StatusError;
  /** What Vonage charged, when it says. */
  readonly usage?: StatusUsage;
  /** The parsed body, unchanged. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/**
 * A Dispatch (failover workflow) completion report that reached the status URL. It concerns
 * no single conversation: it is recognized and passed through, and changes no state.
 *
 * @example
 * ```ts
 * messenger.webhookHandler({ onDispatch: (event) => console.log(event.dispatchUuid, event.status) })
 * ```
 */
export interface DispatchEvent {
  /** Tells a Dispatch report from a `message` or `status` event. */
  readonly kind: 'dispatch';
  /** The Dispatch API's id of the workflow. */
  readonly dispatchUuid: string;
  /** Usually `"completed"`. */
  readonly status: string | undefined;
  /** When the workflow completed, if the report says. */
  readonly timestamp: Date | undefined;
  /** The parsed body, unchanged. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/**
 * Everything a Messenger webhook can carry.
 *
 * @example
 * ```ts
 * switch (event.kind) {
 *   case 'message':
 *     if (event.type === 'text') console.log(event.psid, 'wrote', event.text)
 *     break
 *   case 'status':
 *     if (event.status === 'rejected') console.log(event.error?.code, event.error?.detail)
 *     break
 * }
 * ```
 */
export type MessengerEvent = InboundMessageEvent | StatusEvent | DispatchEvent;

/**
 * True for a message from a user.
 *
 * @example
 * ```ts
 * if (isInboundMessage(event) && event.type === 'text') reply(event.text)
 * ```
 */
export const isInboundMessage = (event: MessengerEvent): event is InboundMessageEvent => event.kind === 'message';

/**
 * True for a status report about a message the Page sent.
 *
 * @example
 * ```ts
 * if (isStatusEvent(event) && event.error) log(event.error.code)
 * ```
 */
export const isStatusEvent = (event: MessengerEvent): event is StatusEvent => event.kind === 'status';
