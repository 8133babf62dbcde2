import type { ErrorRequestHandler } from 'express';
import { ZodError } from 'zod';
import { DependencyUnavailableError, isQueryError } from './db.ts';
import type { Logger } from './log.ts';
import { PeerUnavailableError } from './peers.ts';

/** An error with the HTTP answer it stands for: `{error: {code, message, details?}}` with `status`. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(readonly status: number, readonly code: string, message: string, readonly details?: unknown) {
    super(message);
  }
}

/** The JSON error body every non-2xx answer of the kit has. */
export function errorBody(code: string, message: string, details?: unknown): { error: { code: string; message: string; details?: unknown } } {
  return details === undefined ? { error: { code, message } } : { error: { code, message, details } };
}

/** Maps a thrown error to its HTTP answer. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof ZodError) {
    const details = err.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    return new HttpError(400, 'VALIDATION_FAILED', 'The request body does not match the expected shape.', details);
  }
  const bodyError = err as { type?: string; status?: number; expose?: boolean; message?: string };
  if (typeof bodyError?.type === 'string' && typeof bodyError.status === 'number' && bodyError.status >= 400 && bodyError.status < 500) {
    const messages: Record<string, [string, string]> = {
      'entity.parse.failed': ['MALFORMED_JSON', 'The request body is not valid JSON.'],
      'entity.too.large': ['BODY_TOO_LARGE', 'The request body is larger than the service accepts.'],
      'encoding.unsupported': ['UNSUPPORTED_ENCODING', 'The request body has an unsupported character encoding.'],
      'charset.unsupported': ['UNSUPPORTED_CHARSET', 'The request body has an unsupported charset.'],
      'request.aborted': ['REQUEST_ABORTED', 'The request was aborted while its body was read.'],
      'request.size.invalid': ['BODY_SIZE_MISMATCH', 'The request body does not match its Content-Length.'],
    };
    const [code, message] = messages[bodyError.type] ?? ['BAD_REQUEST', 'The request could not be read.'];
    return new HttpError(bodyError.status, code, message);
  }
  // Express decodes route parameters with decodeURIComponent, and a malformed percent-encoding (`%E0%A4%A`) throws
  // a URIError before any handler runs. The value is not echoed: it is whatever the client sent.
  if (err instanceof URIError) {
    return new HttpError(400, 'MALFORMED_URI', 'The request path has a malformed percent-encoding.');
  }
  // A body that claims a compression it does not have fails inside zlib, which sets no HTTP status.
  const zlibCode = (err as { code?: unknown })?.code;
  if (typeof zlibCode === 'string' && zlibCode.startsWith('Z_')) {
    return new HttpError(400, 'MALFORMED_BODY', 'The request body could not be decompressed.');
  }
  if (err instanceof DependencyUnavailableError) {
    return new HttpError(503, 'DEPENDENCY_UNAVAILABLE', `${err.dependency} is unavailable; try again shortly.`);
  }
  if (err instanceof PeerUnavailableError) {
    return new HttpError(502, 'PEER_UNAVAILABLE', err.message);
  }
  if (isQueryError(err)) {
    if (err.code === '23505') return new HttpError(409, 'CONFLICT', 'A record with the same key exists.');
    if (err.code?.startsWith('22')) return new HttpError(400, 'INVALID_VALUE', 'A value in the request is not valid.');
  }
  return new HttpError(500, 'INTERNAL', 'The service failed to answer this request.');
}

/** Express error handler: every failure becomes a JSON answer; only 5xx are logged as errors. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const httpError = toHttpError(err);
    if (httpError.status >= 500) {
      log.error('request_failed', { requestId: res.locals.requestId, method: req.method, path: req.path, err });
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(httpError.status).json(errorBody(httpError.code, httpError.message, httpError.details));
  };
}
