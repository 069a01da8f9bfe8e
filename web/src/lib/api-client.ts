import * as z from 'zod';
import { ErrorResponseSchema } from '#shared/http/schemas/common.ts';

/**
 * The one API client of the portal: adds the bearer token, validates every answer with the API's
 * own zod schemas (shared/http/schemas) and turns error answers into {@link ApiError}s that carry
 * the API's code and message, never a stack or a raw body.
 */

/** One field a bad request named, as the API's error `details` list them. */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

const FieldProblemsSchema = z.array(z.object({ field: z.string(), message: z.string() }));

/** An error answer of the API (or a network failure, status 0). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** the fields a 4xx named (empty when none were named) */
    readonly fields: readonly FieldProblem[] = [],
  ) {
    super(message);
  }
}

/** A conditional GET's outcome: new data with its ETag, or "not modified". */
export type ConditionalResult<T> = { modified: true; data: T; etag: string | null } | { modified: false };

/** Supplies the current access token (null when signed out). */
export type TokenSource = () => string | null;

async function errorFrom(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (e.g. the gateway's bare 503): fall back to the status.
  }
  const parsed = ErrorResponseSchema.safeParse(body);
  if (parsed.success) {
    const { code, message, details } = parsed.data.error;
    const fields = FieldProblemsSchema.safeParse(details);
    return new ApiError(response.status, code, message, fields.success ? fields.data : []);
  }
  return new ApiError(response.status, 'http_error', response.statusText || `HTTP ${response.status}`);
}

export class ApiClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: TokenSource,
    private readonly fetchImpl: typeof fetch = (input, init) => fetch(input, init),
  ) {}

  private async send(path: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    const token = this.token();
    if (token !== null) headers.set('authorization', `Bearer ${token}`);
    try {
      return await this.fetchImpl(`${this.baseUrl}${path}`, { ...init, headers });
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') throw error;
      throw new ApiError(0, 'network_error', 'The API could not be reached');
    }
  }

  /** GET with `If-None-Match`; a 304 answers `{ modified: false }`. */
  async getConditional<T>(
    path: string,
    schema: z.ZodType<T>,
    etag: string | null,
    signal?: AbortSignal,
  ): Promise<ConditionalResult<T>> {
    const headers: Record<string, string> = {};
    if (etag !== null) headers['if-none-match'] = etag;
    const response = await this.send(path, { method: 'GET', headers, ...(signal ? { signal } : {}) });
    if (response.status === 304) return { modified: false };
    if (!response.ok) throw await errorFrom(response);
    return { modified: true, data: schema.parse(await response.json()), etag: response.headers.get('etag') };
  }

  /** GET a JSON answer; `acceptStatuses` lets e.g. the health route's 503 body through. */
  async get<T>(
    path: string,
    schema: z.ZodType<T>,
    signal?: AbortSignal,
    acceptStatuses: number[] = [],
  ): Promise<T> {
    const response = await this.send(path, { method: 'GET', ...(signal ? { signal } : {}) });
    if (!response.ok && !acceptStatuses.includes(response.status)) throw await errorFrom(response);
    return schema.parse(await response.json());
  }

  /** POST/PUT/DELETE with an optional JSON body; answers the parsed body with its status. */
  async mutate<T>(
    method: 'POST' | 'PUT' | 'DELETE',
    path: string,
    schema: z.ZodType<T>,
    body?: unknown,
  ): Promise<{ status: number; data: T }> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.headers = { 'content-type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    const response = await this.send(path, init);
    if (!response.ok) throw await errorFrom(response);
    const text = await response.text();
    return { status: response.status, data: schema.parse(text === '' ? null : JSON.parse(text)) };
  }
}

/**
 * An error in words for the person using the portal (no internals). `notFound` says what a 404
 * means where the error happened (default: a VM).
 */
export function describeError(error: unknown, notFound = 'This VM does not exist or is not yours.'): string {
  if (error instanceof ApiError) {
    switch (error.status) {
      case 400:
        return error.fields.length === 0
          ? `${error.message}.`
          : `${error.message}: ${error.fields.map((f) => `${f.field} ${f.message}`).join('; ')}.`;
      case 0:
        return 'The inventory API could not be reached. Check your connection and try again.';
      case 401:
        return 'Your sign-in has expired. Sign in again.';
      case 403:
        return `You are not allowed to do this: ${error.message}.`;
      case 404:
        return notFound;
      case 409:
        return `Not possible right now: ${error.message}`;
      case 429:
        return 'Too many requests. Wait a moment and try again.';
      case 502:
      case 504:
        return 'Proxmox is unavailable right now, so the action could not be carried out. Try again later.';
      case 503:
        return 'The service is busy or unavailable. Try again shortly.';
      default:
        return error.status >= 500 ? 'Something went wrong on the server. Try again later.' : error.message;
    }
  }
  return 'Something went wrong. Reload the page and try again.';
}
