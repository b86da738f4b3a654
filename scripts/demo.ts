/**
 * `npm run demo`: the SDK at work against a local Vonage sandbox, with no credentials and no
 * network. Exit code 0 only when every step behaved as narrated.
 *
 * `npm run demo -- --live`: the same bot against the real Vonage API (see docs/demo.md).
 */
import { LIVE_ENV, missingLiveEnv, runLive } from './demo/live.js';
import { createNarrator, wantsColor } from './demo/narrator.js';
import { runTimeline } from './demo/timeline.js';

/** Ends the demo if it has not finished by then (it takes well under a second). */
const DEADLINE_MS = 60_000;

async function main(argv: readonly string[]): Promise<number> {
  const narrator = createNarrator({
    color: wantsColor(process.stdout, process.env),
    write: (text) => process.stdout.write(text),
  });

  if (argv.includes('--live')) {
    const missing = missingLiveEnv(process.env);
    if (missing.length > 0) {
      process.stderr.write(
        `demo --live needs these environment variables:\n${missing
          .map((name) => `  ${name}: ${LIVE_ENV[name as keyof typeof LIVE_ENV]}`)
          .join('\n')}\nSee docs/demo.md. (Without --live, the demo runs locally and needs none.)\n`,
      );
      return 2;
    }
    const live = await runLive(process.env, (line) => narrator.info(line));
    narrator.title(`Live bot listening: point the Vonage application's webhooks here (through a tunnel):`);
    narrator.info(`inbound: ${live.url}/webhooks/inbound   status: ${live.url}/webhooks/status`);
    narrator.info('Ctrl+C stops it.');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await live.stop();
    return 0;
  }

  const deadline = setTimeout(() => {
    narrator.fail(`The demo did not finish within ${DEADLINE_MS / 1000} s.`);
    process.exit(1);
  }, DEADLINE_MS);
  deadline.unref();
  const ok = await runTimeline({ narrator });
  clearTimeout(deadline);
  return ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
