// Structured logs with pino. Never log tokens, tickets or precise coordinates: the redact list
// is a safety net, the rule is to not pass them in the first place.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name: string): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    redact: {
      paths: ['token', 'ticket', 'authorization', 'req.headers.authorization', 'lat', 'lng', '*.lat', '*.lng', 'req.url'],
      censor: '[redacted]',
    },
  });
}
