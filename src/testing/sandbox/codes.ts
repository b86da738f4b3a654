/**
 * The Vonage Messages error codes the sandbox and the event builders use, with Vonage's own
 * wording. These codes travel in the status webhook's `error` (`title` is the code as a
 * string), not as HTTP statuses.
 *
 * Source: Vonage Messages API error list (https://developer.vonage.com/en/api-errors/messages)
 * and the `x-errors` table of the Messages API spec (`messages-olympus.yml`).
 *
 * @module
 */
import { PLATFORM_ERRORS, type PlatformErrorCode } from '../../webhooks/platform.js';

/**
 * Messages error codes that concern Messenger, with Vonage's text for each (from the
 * SDK's one table of codes, `PLATFORM_ERRORS`).
 *
 * @example
 * ```ts
 * MESSAGES_ERRORS[1340] // 'Outside of the allowed window - This message is sent outside of allowed response window.'
 * ```
 */
export const MESSAGES_ERRORS: Readonly<Record<MessagesErrorCode, string>> = Object.freeze(
  Object.fromEntries(Object.entries(PLATFORM_ERRORS).map(([code, row]) => [code, row.vonage])),
) as Readonly<Record<MessagesErrorCode, string>>;

/**
 * A code from {@link MESSAGES_ERRORS}, as a number.
 *
 * @example
 * ```ts
 * const code: MessagesErrorCode = 1370
 * const body = messageStatus({ status: 'rejected', error: code })
 * ```
 */
export type MessagesErrorCode = PlatformErrorCode extends infer K
  ? K extends `${infer N extends number}`
    ? N
    : never
  : never;

/**
 * The `type` URL Vonage puts in a status webhook's `error` for a code.
 *
 * @example
 * ```ts
 * messagesErrorType(1340) // 'https://developer.nexmo.com/api-errors/messages-olympus#1340'
 * ```
 */
export function messagesErrorType(code: number | string): string {
  return `https://developer.nexmo.com/api-errors/messages-olympus#${code}`;
}

/**
 * Vonage's text for a code, or a generic one for a code this table does not list.
 *
 * @example
 * ```ts
 * messagesErrorDetail(1370) // 'Expired access Token - Please reauthenticate your Facebook Page with Vonage.'
 * ```
 */
export function messagesErrorDetail(code: number | string): string {
  const known = (MESSAGES_ERRORS as Record<string, string>)[String(code)];
  return known ?? `Error ${code}`;
}
