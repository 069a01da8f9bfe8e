/**
 * HTTP errors: thrown anywhere below a handler, turned into a response in exactly one place
 * (`toErrorResponse`, used by the middleware's `onError`). Only errors below 500 expose their
 * message; anything else becomes a generic 500 whose detail goes to the log only.
 */

/** One bad input field, e.g. `{ field: 'query.limit', message: 'Too big: expected number to be <=2000' }`. */
export interface ErrorDetail {
  readonly field: string;
  readonly message: string;
}

/** The one error body shape of the API. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown[] };
}

/** Base class of every error that maps to a specific HTTP status. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: readonly unknown[] | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { details?: readonly unknown[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}

/** 400: the request is malformed; `details` names each bad field. */
export class BadRequestError extends HttpError {
  /** The bad fields (the same objects as `details`, typed). */
  readonly fields: readonly ErrorDetail[];

  constructor(message: string, fields: readonly ErrorDetail[] = [], cause?: unknown) {
    super(400, 'bad_request', message, { details: fields, cause });
    this.fields = fields;
  }
}

/** 401: no usable identity (missing or unusable claims). */
export class UnauthorizedError extends HttpError {
  constructor(message = 'Authentication required', cause?: unknown) {
    super(401, 'unauthorized', message, { cause });
  }
}

/** 403: authenticated, but the caller's role does not allow this operation. */
export class ForbiddenError extends HttpError {
  constructor(message = 'Forbidden', cause?: unknown) {
    super(403, 'forbidden', message, { cause });
  }
}

/** 404: does not exist, or is not the caller's (never reveal which). */
export class NotFoundError extends HttpError {
  constructor(message = 'Not found', cause?: unknown) {
    super(404, 'not_found', message, { cause });
  }
}

/** 409: the request conflicts with the current state; `details` say with what (e.g. VMID candidates). */
export class ConflictError extends HttpError {
  constructor(message: string, details?: readonly unknown[], cause?: unknown) {
    super(409, 'conflict', message, { ...(details === undefined ? {} : { details }), cause });
  }
}

/** 413: the request is larger than the route accepts; the message names the limit. */
export class PayloadTooLargeError extends HttpError {
  constructor(message: string, cause?: unknown) {
    super(413, 'payload_too_large', message, { cause });
  }
}

/** 429: rate limited; `retryAfterSeconds` becomes a `retry-after` header. */
export class TooManyRequestsError extends HttpError {
  constructor(message = 'Too many requests', retryAfterSeconds?: number, cause?: unknown) {
    super(429, 'too_many_requests', message, {
      headers: retryAfterSeconds === undefined ? {} : { 'retry-after': String(Math.ceil(retryAfterSeconds)) },
      cause,
    });
  }
}

/** What `toErrorResponse` decided: the status, body and headers to send, and whether to log as an error. */
export interface MappedError {
  readonly status: number;
  readonly body: ErrorBody;
  readonly headers: Readonly<Record<string, string>>;
  /** true for unknown errors and 5xx: the log line must carry the detail the body hides. */
  readonly unexpected: boolean;
}

const INTERNAL_ERROR: ErrorBody = { error: { code: 'internal_error', message: 'Internal server error' } };

/**
 * Maps any thrown value to the API's error response. `HttpError`s below 500 keep their code,
 * message and details; everything else becomes the generic 500 body.
 */
export function toErrorResponse(error: unknown): MappedError {
  if (error instanceof HttpError && error.status < 500) {
    const body: ErrorBody = { error: { code: error.code, message: error.message } };
    if (error.details !== undefined && error.details.length > 0) body.error.details = [...error.details];
    return { status: error.status, body, headers: error.headers, unexpected: false };
  }
  return {
    status: 500,
    body: { error: { ...INTERNAL_ERROR.error } },
    headers: {},
    unexpected: true,
  };
}
