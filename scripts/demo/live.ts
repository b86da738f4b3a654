/**
 * `npm run demo -- --live`: the demo's bot against the real Vonage Messages API. Reads its
 * settings from the environment, serves the inbound and status webhooks on one port, and
 * replies to every message while the window is open. Stop it with Ctrl+C: it then prints the
 * OpenTelemetry counters of the session (sends by outcome, webhooks by status, …).
 */
import { createMessenger } from '../../src/index.js';
import { startBot } from './bot.js';
import { startCounters } from './counters.js';

/** The variables `--live` needs, with what each is. */
export const LIVE_ENV = {
  VONAGE_APPLICATION_ID: 'the Vonage application ID',
  VONAGE_PRIVATE_KEY: "the application's private key: a path to the .key file, or the PEM text",
  VONAGE_SIGNATURE_SECRET: "the account's signature secret (Dashboard → Settings)",
  PAGE_ID: 'the Facebook Page ID linked to the application',
} as const;

/** Missing variables, in a stable order. */
export function missingLiveEnv(env: NodeJS.ProcessEnv): string[] {
  return Object.keys(LIVE_ENV).filter((name) => !env[name]);
}

/**
 * Starts the live bot; resolves to a function that stops it.
 *
 * @returns the webhook base URL and `stop`.
 */
export async function runLive(
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const counters = startCounters();
  const messenger = createMessenger({
    applicationId: env.VONAGE_APPLICATION_ID as string,
    privateKey: env.VONAGE_PRIVATE_KEY as string,
    signatureSecret: env.VONAGE_SIGNATURE_SECRET as string,
    pages: [env.PAGE_ID as string],
    ...(env.VONAGE_API_HOST ? { apiHost: env.VONAGE_API_HOST } : {}),
  });
  const bot = await startBot({
    messenger,
    port: Number(env.PORT ?? 3000),
    host: env.HOST ?? '127.0.0.1',
    log,
  });
  return {
    url: bot.url,
    stop: async () => {
      await bot.close();
      await messenger.close();
      log('counters of this session (vonage-messenger/otel):');
      for (const line of await counters.report()) log(`  ${line}`);
      await counters.stop();
    },
  };
}
