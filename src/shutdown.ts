// Graceful stop on SIGTERM/SIGINT for every entry point: close once, exit 0 when done, exit 1 on
// failure, on timeout, or on a second signal (an operator who insists).
import type { Logger } from './log.js';

export const SHUTDOWN_TIMEOUT_MS = 15_000;

export function exitOnStopSignals(logger: Logger, message: string, close: () => Promise<void>, timeoutMs = SHUTDOWN_TIMEOUT_MS): void {
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
