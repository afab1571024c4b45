// Graceful stop on SIGTERM/SIGINT for every entry point: close once, exit 0 when done, exit 1 on
// failure, on timeout (DRAIN_TIMEOUT_MS: slow HTTP clients are cut off at half of it, so only a
// stuck disk or store gets here), or on a second signal (an operator who insists).
import type { Logger } from './log.js';

export function exitOnStopSignals(logger: Logger, message: string, close: () => Promise<void>, timeoutMs: number): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting at once\n`);
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, message);
    const timer = setTimeout(() => {
      logger.error('graceful stop timed out');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    close().then(
      () => process.exit(0),
      (e) => {
        logger.error({ err: e }, 'graceful stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
