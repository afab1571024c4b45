// The per-request hooks every route runs, written for the assignment hot path (SPEC §5: ≥ 15,000
// assignments/s): callback-style rather than async, so a request that needs no I/O settles without
// a promise and a microtask per hook, and nothing is built for a log line that is not written.
import type { FastifyBaseLogger, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';
import type { Logger } from '../log.js';
import type { Role } from '../protocol/index.js';
import type { DeviceAuth } from './device-auth.js';
import type { OrchestratorMetrics } from './metrics.js';

type Hook = (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;

/** onRequest: verifies the bearer token (and the role, when given); a token seen before costs no await. */
export function authenticateHook(auth: DeviceAuth, role?: Role): Hook {
  return (req, _reply, done) => {
    let id;
    try {
      id = auth.cached(req.headers.authorization, role);
    } catch (e) {
      done(e as Error);
      return;
    }
    if (id) {
      req.device = id;
      done();
      return;
    }
    auth.require(req.headers.authorization, role).then(
      (verified) => {
        req.device = verified;
        done();
      },
      (e: Error) => done(e),
    );
  };
}

/** onResponse: request metrics and the request log line (debug; warn for 5xx). */
export function responseHook(metrics: OrchestratorMetrics, logger: Logger): Hook {
  return (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    metrics.countRequest(route, status);
    metrics.duration.observe({ route }, reply.elapsedTime / 1000);
    // Route pattern only: never req.url (coordinates in the query) nor headers (the token).
    const level = status >= 500 ? 'warn' : 'debug';
    if (logger.isLevelEnabled(level)) logger[level]({ method: req.method, route, status, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
    done();
  };
}

/**
 * fastify makes a child logger (bound to the request id) for every request; pino serialises the
 * bindings right then, and almost no request ever logs through it. This one makes the pino child
 * on first use, so the lines that are written are the same.
 */
export function lazyChildLoggerFactory(logger: FastifyBaseLogger, bindings: Bindings, opts: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyChildLogger(logger, bindings, opts) as unknown as FastifyBaseLogger;
}

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

class LazyChildLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly opts: ChildLoggerOptions,
  ) {}

  private get real(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.opts));
  }

  get level(): string {
    return this.made ? this.made.level : this.parent.level;
  }
  set level(l: string) {
    this.real.level = l;
  }
  child(bindings: Bindings, opts?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real.child(bindings, opts);
  }
  fatal(...a: unknown[]): void {
    this.write('fatal', a);
  }
  error(...a: unknown[]): void {
    this.write('error', a);
  }
  warn(...a: unknown[]): void {
    this.write('warn', a);
  }
  info(...a: unknown[]): void {
    this.write('info', a);
  }
  debug(...a: unknown[]): void {
    this.write('debug', a);
  }
  trace(...a: unknown[]): void {
    this.write('trace', a);
  }
  silent(): void {}

  private write(level: Exclude<Level, 'silent'>, args: unknown[]): void {
    // Disabled levels stay free: no child is made for a line pino would drop anyway.
    if (!this.made && !(this.parent as unknown as Logger).isLevelEnabled(level)) return;
    (this.real[level] as (...a: unknown[]) => void)(...args);
  }
}
