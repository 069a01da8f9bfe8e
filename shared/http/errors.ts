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

/**
 * The one error body shape of the API. `request_id` names the request (give it to an admin);
 * `detail` is the internal reason, present for admins only (see `shared/http/disclosure.ts`).
 */
export interface ErrorBody {
  error: { code: string; message: string; request_id?: string; detail?: string; details?: unknown[] };
}

/** Base class of every error that maps to a specific HTTP status. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: readonly unknown[] | undefined;
  readonly headers: Readonly<Record<string, string>>;
  /** Internal reason shown to admins only (node names, paths, addresses, Proxmox's messages). */
  readonly adminDetail: string | undefined;
  /** `details` are internal too: admins only. */
  readonly adminOnlyDetails: boolean;
  /** The message is safe for every caller even though the status is 5xx. */
  readonly exposeMessage: boolean;

  constructor(
    status: number,
    code: string,
    message: string,
    options: {
      details?: readonly unknown[];
      headers?: Record<string, string>;
      cause?: unknown;
      adminDetail?: string;
      adminOnlyDetails?: boolean;
      exposeMessage?: boolean;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers ?? {};
    this.adminDetail = options.adminDetail;
    this.adminOnlyDetails = options.adminOnlyDetails ?? false;
    this.exposeMessage = options.exposeMessage ?? status < 500;
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

/** Longest part of a request's path an unknown-route answer repeats. */
const UNKNOWN_ROUTE_PATH_CHARS = 200;

/**
 * The answer to a request no route matches (the documented `not_found`), the same from the local
 * gateway and from the deployed API's catch-all function.
 */
export function unknownRouteError(method: string, path: string): NotFoundError {
  return new NotFoundError(`No route for ${method} ${path.slice(0, UNKNOWN_ROUTE_PATH_CHARS)}`);
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

/**
 * 502: an upstream (Proxmox) could not be reached, so nothing was done. Everyone gets the generic
 * message; admins also get `adminDetail` (the connection error, which names addresses and nodes).
 */
export class UpstreamUnavailableError extends HttpError {
  constructor(message: string, adminDetail: string, cause?: unknown) {
    super(502, 'proxmox_unavailable', message, { adminDetail, cause, exposeMessage: true });
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

/** Who the error answer is for, and the request it answers. */
export interface ErrorAudience {
  /** `admin` also gets `detail` and internal `details` (see `shared/http/disclosure.ts`). */
  readonly audience?: 'admin' | 'user';
  readonly requestId?: string | undefined;
}

/**
 * Maps any thrown value to the API's error response. `HttpError`s below 500 (and 5xx ones marked
 * `exposeMessage`) keep their code and message; their `adminDetail` and admin-only `details` reach
 * admins only. Everything else becomes the generic 500 body. Every body carries the request id.
 */
export function toErrorResponse(error: unknown, options: ErrorAudience = {}): MappedError {
  const admin = options.audience === 'admin';
  const withRequestId = (body: ErrorBody): ErrorBody => {
    if (options.requestId !== undefined) body.error.request_id = options.requestId;
    return body;
  };
  if (error instanceof HttpError && error.exposeMessage) {
    const body: ErrorBody = { error: { code: error.code, message: error.message } };
    withRequestId(body);
    if (admin && error.adminDetail !== undefined) body.error.detail = error.adminDetail;
    if (error.details !== undefined && error.details.length > 0 && (admin || !error.adminOnlyDetails)) {
      body.error.details = [...error.details];
    }
    return { status: error.status, body, headers: error.headers, unexpected: error.status >= 500 };
  }
  return {
    status: 500,
    body: withRequestId({ error: { ...INTERNAL_ERROR.error } }),
    headers: {},
    unexpected: true,
  };
}
