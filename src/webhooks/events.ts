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
import type { MessageStatus, WebhookVersion } from '../vocabulary.js';

export type { MessageStatus, WebhookVersion } from '../vocabulary.js';

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

/** The user sent text. */
export interface TextMessageEvent extends InboundMessageBase {
  /** Vonage's `message_type`. */
  readonly type: 'text';
  /** What the user wrote. */
  readonly text: string;
}

/**
 * The user sent an image, audio, video or file; `url` is Vonage's copy. Download it promptly: how
 * long Vonage keeps it is UNCONFIRMED (only a 2021 generic schema said 48 hours).
 */
export interface MediaMessageEvent<
  T extends 'image' | 'audio' | 'video' | 'file' = 'image' | 'audio' | 'video' | 'file',
> extends InboundMessageBase {
  /** Vonage's `message_type`. */
  readonly type: T;
  /** Where Vonage keeps the media (for how long: UNCONFIRMED). */
  readonly url: string;
}

/** The user sent something Vonage does not support on Messenger (a sticker, a location…). */
export interface UnsupportedMessageEvent extends InboundMessageBase {
  /** Vonage's `message_type`: the content cannot be read through Vonage. */
  readonly type: 'unsupported';
}

/** A `message_type` this SDK does not know yet; `messageType` names it and `raw` has the rest. */
export interface UnknownMessageEvent extends InboundMessageBase {
  /** Set by this SDK, not Vonage: see `messageType` for what arrived. */
  readonly type: 'unknown';
  /** The `message_type` as Vonage sent it. */
  readonly messageType: string;
}

/** A message from a user to a Page. It opens (or extends) the messaging window. */
export type InboundMessageEvent =
  | TextMessageEvent
  | MediaMessageEvent<'image'>
  | MediaMessageEvent<'audio'>
  | MediaMessageEvent<'video'>
  | MediaMessageEvent<'file'>
  | UnsupportedMessageEvent
  | UnknownMessageEvent;

/** Why Vonage refused or could not deliver a message. */
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

/** What Vonage charged for the message. `price` stays a string (a decimal, not a float). */
export interface StatusUsage {
  /** ISO 4217 code, e.g. `EUR`. */
  readonly currency: string;
  /** The amount as Vonage wrote it, e.g. `"0.0050"`. */
  readonly price: string;
}

/** The fate of a message the Page sent. */
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

/** Everything a Messenger webhook can carry. */
export type MessengerEvent = InboundMessageEvent | StatusEvent | DispatchEvent;

/**
 * True for a message from a user.
 *
 * @example
 * ```ts
 * const textOf = (event: MessengerEvent) => (isInboundMessage(event) && event.type === 'text' ? event.text : undefined)
 * ```
 */
export const isInboundMessage = (event: MessengerEvent): event is InboundMessageEvent => event.kind === 'message';

/**
 * True for a status report about a message the Page sent.
 *
 * @example
 * ```ts
 * const failure = (event: MessengerEvent) => (isStatusEvent(event) ? event.error?.code : undefined)
 * ```
 */
export const isStatusEvent = (event: MessengerEvent): event is StatusEvent => event.kind === 'status';
