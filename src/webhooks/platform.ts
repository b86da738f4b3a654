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
import type { ClosedReason, PlatformErrorAction, PlatformErrorKind } from '../vocabulary.js';
import type { StatusEvent } from './events.js';

export type { PlatformErrorAction, PlatformErrorKind } from '../vocabulary.js';

/** A refusal reported by the platform, passed to `onPlatformError` once per status event. */
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

const KIND_BY_CODE: Readonly<Record<string, PlatformErrorKind>> = {
  '1340': 'window_closed',
  '1300': 'user_unavailable',
  '1430': 'user_unavailable',
  '1370': 'page_unlinked',
  '1420': 'page_unlinked',
  '1021': 'invalid_tag',
  '1380': 'media',
  '1381': 'media',
  '1382': 'media',
  '1000': 'throttled',
  '1331': 'transient',
  '1020': 'invalid_request',
  '1400': 'invalid_request',
  '1410': 'invalid_request',
  '1440': 'invalid_request',
  '1450': 'invalid_request',
};

/**
 * What a code makes the SDK record, one row per code (codes not listed record nothing).
 * `unlink` with `ifLinked`: only a Page known linked is marked unlinked (1420 for a Page that
 * never worked is a setup mistake, reported but not recorded).
 */
export const EFFECT_BY_CODE: Readonly<
  Record<string, { effect: 'close' | 'unlink'; reason?: ClosedReason; ifLinked?: boolean }>
> = {
  '1340': { effect: 'close', reason: 'closed_by_platform' },
  '1300': { effect: 'close', reason: 'user_unavailable' },
  '1430': { effect: 'close', reason: 'user_unavailable' },
  '1370': { effect: 'unlink' },
  '1420': { effect: 'unlink', ifLinked: true },
};

/**
 * The code a synchronous 4xx answer stands for: Vonage answers some refusals at once with a
 * `title` instead of reporting them later in a status webhook.
 */
export const CODE_BY_API_TITLE: Readonly<Record<string, string>> = {
  'invalid sender': '1420',
  'invalid recipient': '1430',
};

/**
 * The kind of a Messages API error code.
 *
 * @example
 * ```ts
 * platformErrorKind('1370') // 'page_unlinked'
 * ```
 */
export function platformErrorKind(code: string | undefined): PlatformErrorKind {
  if (code === undefined || !Object.hasOwn(KIND_BY_CODE, code)) return 'other';
  return KIND_BY_CODE[code] ?? 'other';
}

const RELINK =
  'Re-link it: Vonage Dashboard → Messages → Link Facebook Page (Part 1), then Applications → your application → Linked social channels → Link (Part 2, for each application). Then call messenger.markPageLinked(pageId), or wait for the next inbound message to that Page.';

/** The sentence for {@link PlatformErrorEvent.message}. */
export function platformErrorMessage(code: string | undefined, action: PlatformErrorAction, pageId: string): string {
  switch (code) {
    case '1340':
      return 'Outside of the allowed window (1340): the user has not written in the last 24 hours. The conversation is closed until the user writes again; only a HUMAN_AGENT reply (written by a person, within 7 days, Meta approval required) may still be sent.';
    case '1300':
    case '1430':
      return `The recipient can't be reached from Page ${pageId} (${code}): the PSID is not a user of this Page (PSIDs are per Page). Sends to it are refused until the user writes again.`;
    case '1370':
      return `The access token of Page ${pageId} expired (1370): the Page's link to Vonage is broken. ${RELINK}`;
    case '1420':
      return action === 'page_unlinked'
        ? `Page ${pageId} worked before but is now an invalid sender (1420): it is no longer linked to this Vonage application. ${RELINK}`
        : `Page ${pageId} is an invalid sender (1420): it is not linked to this Vonage application, or the Page ID is wrong. Link it: Applications → your application → Linked social channels → Link.`;
    case '1021':
      return 'Meta refused the message tag (1021). HUMAN_AGENT needs Meta App Review approval of your app (human_agent permission) and may carry only messages a person wrote; other tags were retired.';
    case '1380':
      return 'The media URL could not be fetched (1380): it must be public HTTPS and reachable by Vonage.';
    case '1381':
      return 'The media file is too large (1381).';
    case '1382':
      return 'The media type is not accepted (1382): images .jpg/.png/.gif, audio .mp3, video .mp4 (H.264/AAC).';
    case '1000':
      return 'Vonage throttled the send (1000): slow down and retry later.';
    case '1331':
      return 'The provider returned an error (1331): retrying later may work.';
    default:
      return `The platform refused the message${code === undefined ? '' : ` (${code})`}.`;
  }
}
