// Every error leaves the orchestrator as `{error, message}` with a code of HTTP_ERRORS. Route code
// throws HttpError; fastify's own errors (validation, bad JSON, body too large, ...) are mapped
// here, so a client never sees a 500 for anything it sent.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { HTTP_ERRORS, type HttpErrorCode } from '../protocol/index.js';
import type { Logger } from '../log.js';
import { StoreUnavailableError } from '../coordination/unavailable.js';

export class HttpError extends Error {
  readonly status: number;
  constructor(
    readonly code: HttpErrorCode,
    message: string = HTTP_ERRORS[code].message,
  ) {
    super(message);
    this.name = 'HttpError';
    this.status = HTTP_ERRORS[code].status;
  }
}

export function sendError(reply: FastifyReply, code: HttpErrorCode, message: string = HTTP_ERRORS[code].message): FastifyReply {
  return reply.code(HTTP_ERRORS[code].status).type('application/json').send({ error: code, message });
}

interface AjvError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/** Which field a validation error is about: `/lat` → lat; a missing property → its name. */
function fieldOf(e: AjvError): string {
  if (e.keyword === 'required' && typeof e.params.missingProperty === 'string') return e.params.missingProperty;
  if (e.keyword === 'additionalProperties' && typeof e.params.additionalProperty === 'string') return e.params.additionalProperty;
  return e.instancePath.split('/')[1] ?? '';
}

/** The HTTP_ERRORS code for a schema validation failure. */
export function validationCode(errors: AjvError[], context: string | undefined): { code: HttpErrorCode; message: string } {
  const first = errors[0];
  const field = first ? fieldOf(first) : '';
  if (context === 'querystring' && first?.keyword !== 'additionalProperties') {
    if (field === 'lat' || field === 'lng') return { code: 'bad_coordinates', message: HTTP_ERRORS.bad_coordinates.message };
    if (field === 'zip') return { code: 'bad_zip', message: HTTP_ERRORS.bad_zip.message };
  }
  if (!first) return { code: 'bad_request', message: HTTP_ERRORS.bad_request.message };
  // Ajv's wording, with the field named; never the offending value (it may be huge or private).
  const where = field ? `\`${field}\`` : (context ?? 'request');
  const what =
    first.keyword === 'required' ? 'is required' : first.keyword === 'additionalProperties' ? 'is not a known field' : (first.message ?? 'is invalid');
  return { code: 'bad_request', message: `${context ?? 'request'}: ${where} ${what}`.slice(0, 300) };
}

export function errorHandler(logger: Logger) {
  return (err: FastifyError | HttpError, req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    if (err instanceof HttpError) return sendError(reply, err.code, err.message);
    if (err instanceof StoreUnavailableError) {
      // Redis is down (distributed mode): the client's request is fine, retry once it is back.
      // debug: during an outage every request would log; the Redis connection already warns once.
      logger.debug({ method: req.method, route: req.routeOptions.url, err: err.message }, 'store unavailable');
      reply.header('retry-after', String(err.retryAfterS));
      return sendError(reply, 'not_ready', 'a shared store is unreachable; retry shortly');
    }
    const fe = err as FastifyError & { validationContext?: string };
    if (fe.validation) {
      const { code, message } = validationCode(fe.validation as unknown as AjvError[], fe.validationContext);
      return sendError(reply, code, message);
    }
    const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
    if (status >= 400 && status < 500) {
      // Bad JSON, wrong content type, body too large, ...: all the client's doing, all 400.
      return sendError(reply, 'bad_request', `${HTTP_ERRORS.bad_request.message}: ${String(fe.message).slice(0, 200)}`);
    }
    logger.error({ err, method: req.method, route: req.routeOptions.url }, 'request failed');
    return sendError(reply, 'internal');
  };
}

/**
 * The raw answer to a request Node itself refused before any route saw it (a timeout, a request it
 * cannot parse, headers too large): the contract's {error, message}, then the connection closes.
 */
export function clientErrorResponse(err: Error): string {
  const code: HttpErrorCode = (err as NodeJS.ErrnoException).code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request_timeout' : 'bad_request';
  const { status, message } = HTTP_ERRORS[code];
  const body = JSON.stringify({ error: code, message });
  const reason = status === 408 ? 'Request Timeout' : 'Bad Request';
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
