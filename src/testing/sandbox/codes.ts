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

/** Messages error codes that concern Messenger, with Vonage's text for each. */
export const MESSAGES_ERRORS = Object.freeze({
  1000: 'Throttled - You have exceeded the submission capacity allowed on this account. Please wait and retry',
  1020: 'Invalid params',
  1021: 'Invalid tag',
  1300: 'Not part of the provider network',
  1331: 'Provider error',
  1340: 'Outside of the allowed window',
  1370: 'Expired access token: re-authenticate your Facebook Page with Vonage',
  1380: 'Invalid resource',
  1420: 'Invalid sender',
  1430: 'Invalid recipient',
} as const);

/** A code from {@link MESSAGES_ERRORS}. */
export type MessagesErrorCode = keyof typeof MESSAGES_ERRORS;

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
 * messagesErrorDetail(1370) // 'Expired access token: re-authenticate your Facebook Page with Vonage'
 * ```
 */
export function messagesErrorDetail(code: number | string): string {
  const known = (MESSAGES_ERRORS as Record<string, string>)[String(code)];
  return known ?? `Error ${code}`;
}
