/**
 * What a Messages API error code in a status webhook means for a Messenger app, and what the
 * SDK does about it. Vonage reports most Messenger send failures late, as a `rejected` or
 * `undeliverable` status whose `error.title` is the code.
 *
 * Source: Vonage Messages API errors (https://developer.vonage.com/en/api-errors/messages).
 *
 * @module
 */
import type { PageId, Psid } from '../ids.js';
import type { PlatformErrorAction, PlatformErrorEffect, PlatformErrorKind } from '../vocabulary.js';
import type { StatusEvent } from './events.js';

export type { PlatformErrorAction, PlatformErrorEffect, PlatformErrorKind } from '../vocabulary.js';

/**
 * A refusal reported by the platform, passed to `onPlatformError` once per status event.
 *
 * @example
 * ```ts
 * const unsubscribe = messenger.onPlatformError((e: PlatformErrorEvent) => {
 *   if (e.kind === 'page_unlinked') alertOps(e.message)
 * })
 * ```
 */
export interface PlatformErrorEvent {
  /** The Messages API error code (`"1340"`, `"1370"`, `"1021"`…), `undefined` if none was given. */
  readonly code: string | undefined;
  /** The code's group, to branch on without a table of codes. */
  readonly kind: PlatformErrorKind;
  /** What the SDK recorded: the conversation or the Page state that now refuses sends locally. */
  readonly action: PlatformErrorAction;
  /** A sentence saying what happened and what to do. */
  readonly message: string;
  /** The Page that sent the refused message. */
  readonly pageId: PageId;
  /** The user it was for. */
  readonly psid: Psid;
  /** The `messageUuid` the send resolved to. */
  readonly messageUuid: string;
  /** `rejected` or `undeliverable`. */
  readonly status: StatusEvent['status'];
  /** Vonage's own text for the error. */
  readonly detail: string | undefined;
  /** The `clientRef` given to the send, to find your own record of it. */
  readonly clientRef: string | undefined;
  /** When Vonage reported the refusal. */
  readonly timestamp: Date;
  /** The status event that carried it. */
  readonly event: StatusEvent;
}

/**
 * One row of {@link PLATFORM_ERRORS}.
 *
 * @example
 * ```ts
 * const row: PlatformErrorRow | undefined = PLATFORM_ERRORS['1180']
 * console.log(row?.kind, row?.vonage) // 'transient', 'Destination temporarily unavailable - …'
 * ```
 */
export interface PlatformErrorRow {
  /** The code's group. */
  readonly kind: PlatformErrorKind;
  /** What the SDK records when a status webhook reports it. */
  readonly effect: PlatformErrorEffect;
  /** Vonage's own text for the code (Messages API spec v1.20, `x-errors`). */
  readonly vonage: string;
  /** What the app can do, in one sentence (no claim beyond Vonage's text). */
  readonly advice: string;
}

/**
 * Where every row's code and text come from (docs/errors.md links it per row).
 *
 * @example
 * ```ts
 * console.log(`${PLATFORM_ERRORS['1180']?.vonage} (${PLATFORM_ERRORS_SOURCE})`)
 * ```
 */
export const PLATFORM_ERRORS_SOURCE =
  'Vonage Messages API spec v1.20.0, x-errors (https://developer.vonage.com/en/api-errors/messages)';

const TABLE = {
  '1000': {
    kind: 'throttled',
    effect: 'none',
    vonage: 'Throttled - You have exceeded the submission capacity allowed on this account. Please wait and retry',
    advice: 'slow down and retry later',
  },
  '1010': {
    kind: 'invalid_request',
    effect: 'none',
    vonage: 'Missing params - Your request is incomplete and missing some mandatory parameters.',
    advice: 'fix the request; retrying it unchanged fails again',
  },
  '1020': {
    kind: 'invalid_request',
    effect: 'none',
    vonage: 'Invalid params - The value of one or more parameters is invalid.',
    advice: 'fix the request; retrying it unchanged fails again',
  },
  '1021': {
    kind: 'invalid_tag',
    effect: 'tag_unavailable',
    vonage: 'Invalid tag - The tag value is invalid.',
    advice:
      'for HUMAN_AGENT the SDK stops allowing and offering the tag for this Page until messenger.markTagAvailable(pageId); other tags were retired by Meta',
  },
  '1030': {
    kind: 'internal_error',
    effect: 'none',
    vonage: 'Internal error - There was an error processing your request in the Platform.',
    advice: 'Vonage does not say whether a retry works; quote the message UUID to Vonage support if it repeats',
  },
  '1170': {
    kind: 'user_unavailable',
    effect: 'user_unavailable',
    vonage: 'Invalid recipient - The `to` parameter is missing or contains an invalid address or identifier.',
    advice:
      'the PSID is not a user of this Page (PSIDs are per Page); sends to it are refused until the user writes again',
  },
  '1180': {
    kind: 'transient',
    effect: 'none',
    vonage: 'Destination temporarily unavailable - The destination cannot currently receive messages. Retry later.',
    advice: 'nothing was recorded; retrying later may work',
  },
  '1282': {
    kind: 'rejected_by_provider',
    effect: 'none',
    vonage:
      'Message rejected by provider - The provider blocked the message may be due to policy or content restrictions.',
    advice: "check the content against Meta's policies; resending it unchanged is likely refused again",
  },
  '1300': {
    kind: 'user_unavailable',
    effect: 'user_unavailable',
    vonage: 'Not part of the provider network - The number or ID is not a user in the provider network.',
    advice:
      'the PSID is not a user of this Page (PSIDs are per Page); sends to it are refused until the user writes again',
  },
  '1330': {
    kind: 'delivery_failed',
    effect: 'none',
    vonage:
      'Delivery failed - The provider returned an unknown permanent failure. Verify the destination and retry if appropriate.',
    advice: 'verify the PSID and Page; nothing was recorded',
  },
  '1331': {
    kind: 'transient',
    effect: 'none',
    vonage:
      'Provider error - The provider is not responding or unable to process the request. Please try sending your message in a few minutes time.',
    advice: 'retrying in a few minutes may work',
  },
  '1340': {
    kind: 'window_closed',
    effect: 'close_conversation',
    vonage: 'Outside of the allowed window - This message is sent outside of allowed response window.',
    advice:
      'the conversation is closed until the user writes again; only a HUMAN_AGENT reply (written by a person, within 7 days) may still be sent',
  },
  '1360': {
    kind: 'expired',
    effect: 'none',
    vonage: 'TTL was activated, or message expired before delivered.',
    advice: 'the message was not delivered; send again if it still matters',
  },
  '1370': {
    kind: 'page_unlinked',
    effect: 'unlink_page',
    vonage: 'Expired access Token - Please reauthenticate your Facebook Page with Vonage.',
    advice: "the Page's link to Vonage is broken; re-link it",
  },
  '1380': {
    kind: 'media',
    effect: 'none',
    vonage: 'Invalid resource - Please check that the URL your provided to your resource is accessible and valid.',
    advice: 'the media URL must be public HTTPS and reachable by Vonage',
  },
  '1381': {
    kind: 'media',
    effect: 'none',
    vonage: 'Resource size is too large - Please try sending a smaller media file.',
    advice: 'send a smaller file',
  },
  '1382': {
    kind: 'media',
    effect: 'none',
    vonage: 'Unsupported resource type - The attached resource type is not supported or invalid.',
    advice: 'images .jpg/.png/.gif, audio .mp3, video .mp4 (H.264/AAC)',
  },
  '1400': {
    kind: 'invalid_request',
    effect: 'none',
    vonage: 'Unsupported channel - The channel specified in the request is not supported.',
    advice: 'fix the request',
  },
  '1410': {
    kind: 'invalid_request',
    effect: 'none',
    vonage: 'Invalid channel parameters - The value of one or more parameters is invalid.',
    advice: 'fix the request',
  },
  '1420': {
    kind: 'page_unlinked',
    effect: 'unlink_known_page',
    vonage: 'Invalid sender - The `from` parameter is invalid for the given channel.',
    advice: 'the Page is not linked to this Vonage application, or the Page ID is wrong',
  },
  '1430': {
    kind: 'user_unavailable',
    effect: 'user_unavailable',
    vonage: 'Invalid recipient - The `to` parameter is invalid for the given channel.',
    advice:
      'the PSID is not a user of this Page (PSIDs are per Page); sends to it are refused until the user writes again',
  },
  '1431': {
    kind: 'invalid_request',
    effect: 'none',
    vonage: 'Multiple recipients error - Multiple recipients not supported.',
    advice: 'send to one PSID per message',
  },
  '1440': {
    kind: 'invalid_request',
    effect: 'none',
    vonage: 'Invalid message type - The message type specified in the request is not supported for the given channel.',
    advice: 'Messenger takes text, image, audio, video and file',
  },
  '1450': {
    kind: 'invalid_request',
    effect: 'none',
    vonage: 'Invalid client reference - The client reference can be a string of up to 100 characters.',
    advice: 'keep clientRef to 100 characters',
  },
  '2001': {
    kind: 'blocked',
    effect: 'none',
    vonage:
      'Fraud protection triggered - The message was blocked by fraud or abuse protection rules at the provider side.',
    advice: 'the provider blocked it as fraud or abuse; do not retry it unchanged',
  },
} as const satisfies Record<string, PlatformErrorRow>;
/**
 * Every Messages API error code that can concern a Messenger send, one row per code: its
 * kind, what the SDK records, Vonage's text. Codes of other channels (SMS carriers, WhatsApp
 * templates, email) are left out and read as `other`, as is 1350 (phone-number matching, which
 * this SDK never uses).
 *
 * @example
 * ```ts
 * PLATFORM_ERRORS['1340']?.effect // 'close_conversation'
 * ```
 */
export const PLATFORM_ERRORS: Readonly<Record<string, PlatformErrorRow>> = Object.freeze(TABLE);

/**
 * A code that has a row in {@link PLATFORM_ERRORS}, as Vonage writes it (`"1340"`).
 *
 * @example
 * ```ts
 * const code: PlatformErrorCode = '1180'
 * ```
 */
export type PlatformErrorCode = keyof typeof TABLE;

/**
 * The code a synchronous 4xx answer stands for: Vonage answers some refusals at once with a
 * `title` instead of reporting them later in a status webhook. What the code records is its
 * {@link PLATFORM_ERRORS} row, as for the status webhook.
 */
export const CODE_BY_API_TITLE: Readonly<Record<string, PlatformErrorCode>> = {
  'invalid sender': '1420',
  'invalid recipient': '1430',
};

/**
 * Vonage's short title for a code: its text up to the first " - " (`"Invalid tag"`).
 *
 * @example
 * ```ts
 * platformErrorTitle('1340') // 'Outside of the allowed window'
 * ```
 */
export function platformErrorTitle(code: string): string | undefined {
  const row = platformErrorRow(code);
  return row === undefined ? undefined : (row.vonage.split(' - ')[0]?.trim() ?? row.vonage);
}

/**
 * The claim id the messenger sets when it sends a tagged message, so that a later 1021 can
 * tell which tag was refused (status webhooks do not repeat the tag).
 *
 * @example
 * ```ts
 * await store.claim(taggedSendClaimId('HUMAN_AGENT', messageUuid), 48 * 60 * 60 * 1000)
 * ```
 */
export function taggedSendClaimId(tag: string, messageUuid: string): string {
  return `tagged:${tag}:${messageUuid}`;
}

/**
 * The row for a code, own properties only (`"constructor"` is not a code).
 *
 * @example
 * ```ts
 * platformErrorRow('2001')?.kind // 'blocked'
 * ```
 */
export function platformErrorRow(code: string | undefined): PlatformErrorRow | undefined {
  return code !== undefined && Object.hasOwn(PLATFORM_ERRORS, code) ? PLATFORM_ERRORS[code] : undefined;
}

/**
 * The kind of a Messages API error code.
 *
 * @example
 * ```ts
 * platformErrorKind('1370') // 'page_unlinked'
 * ```
 */
export function platformErrorKind(code: string | undefined): PlatformErrorKind {
  return platformErrorRow(code)?.kind ?? 'other';
}

const RELINK =
  'Re-link it: Vonage Dashboard → Messages → Link Facebook Page (Part 1), then Applications → your application → Linked social channels → Link (Part 2, for each application). Then call messenger.markPageLinked(pageId), or wait for the next inbound message to that Page.';

/**
 * The sentence for {@link PlatformErrorEvent.message}.
 *
 * @example
 * ```ts
 * platformErrorMessage('1340', 'conversation_closed', '1029') // 'Outside of the allowed window (1340): …'
 * ```
 */
export function platformErrorMessage(code: string | undefined, action: PlatformErrorAction, pageId: string): string {
  const row = platformErrorRow(code);
  if (row === undefined) return `The platform refused the message${code === undefined ? '' : ` (${code})`}.`;
  const title = platformErrorTitle(code as string) ?? row.vonage;
  switch (row.effect) {
    case 'unlink_page':
      return `${title} (${code}): the link of Page ${pageId} to Vonage is broken. ${RELINK}`;
    case 'unlink_known_page':
      return action === 'page_unlinked'
        ? `Page ${pageId} worked before but is now an invalid sender (${code}): it is no longer linked to this Vonage application. ${RELINK}`
        : `Page ${pageId} is an invalid sender (${code}): it is not linked to this Vonage application, or the Page ID is wrong. Link it: Applications → your application → Linked social channels → Link.`;
    case 'tag_unavailable':
      return action === 'tag_unavailable'
        ? `${title} (${code}): Vonage refused HUMAN_AGENT for Page ${pageId}. The SDK no longer allows or offers it for this Page; once the Page may use it, call messenger.markTagAvailable(pageId, 'HUMAN_AGENT'). Whose approval HUMAN_AGENT needs over Vonage is UNCONFIRMED (docs/rules.md).`
        : `${title} (${code}): the message tag was refused, and it was not a HUMAN_AGENT send this SDK recorded, so nothing was marked. Meta retired every tag but HUMAN_AGENT.`;
    default:
      return `${title} (${code}): ${row.advice}.`;
  }
}
