/**
 * A small client of the pve-inventory HTTP API for the admin CLI: JSON in and out, a bearer token,
 * errors as one line built from the API's error body.
 */

/** The API answered with an error status; the message is the API's own (code and message). */
export class ApiRequestError extends Error {
  override readonly name = 'ApiRequestError';
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, message: string, body: unknown) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** The API could not be reached at all. */
export class ApiUnreachableError extends Error {
  override readonly name = 'ApiUnreachableError';
}

/** A request of the CLI. */
export interface ApiRequest {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  /** statuses that are answers rather than errors (e.g. 503 of the health route) */
  readonly accept?: readonly number[];
}

/** An answer: status and parsed JSON body (null when empty). */
export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** Calls the API. */
export interface ApiClient {
  readonly baseUrl: string;
  request(request: ApiRequest): Promise<ApiAnswer>;
}

function describeError(status: number, body: unknown): string {
  if (typeof body === 'object' && body !== null) {
    const error: unknown = Reflect.get(body, 'error');
    if (typeof error === 'object' && error !== null) {
      const message: unknown = Reflect.get(error, 'message');
      const details: unknown = Reflect.get(error, 'details');
      const reasons = Array.isArray(details)
        ? details
            .map((d: unknown) => {
              if (typeof d !== 'object' || d === null) return String(d);
              const field: unknown = Reflect.get(d, 'field');
              const text: unknown = Reflect.get(d, 'message');
              return typeof field === 'string' ? `${field}: ${String(text)}` : JSON.stringify(d);
            })
            .slice(0, 10)
        : [];
      if (typeof message === 'string') {
        return `${message} (HTTP ${status})${reasons.length > 0 ? `: ${reasons.join('; ')}` : ''}`;
      }
    }
    const plain: unknown = Reflect.get(body, 'message');
    if (typeof plain === 'string') return `${plain} (HTTP ${status})`;
  }
  return `HTTP ${status}`;
}

/** A client on `baseUrl` sending `token` (when given) as a bearer token. */
export function createApiClient(baseUrl: string, token: string | undefined): ApiClient {
  const root = baseUrl.replace(/\/+$/, '');
  return {
    baseUrl: root,
    async request(request) {
      const url = new URL(`${root}${request.path}`);
      for (const [name, value] of Object.entries(request.query ?? {})) {
        if (value !== undefined) url.searchParams.set(name, String(value));
      }
      const headers: Record<string, string> = { accept: 'application/json' };
      if (token !== undefined) headers.authorization = `Bearer ${token}`;
      if (request.body !== undefined) headers['content-type'] = 'application/json';
      let response: Response;
      try {
        response = await fetch(url, {
          method: request.method ?? 'GET',
          headers,
          ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
          signal: AbortSignal.timeout(60_000),
        });
      } catch (error) {
        const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : '';
        throw new ApiUnreachableError(
          `cannot reach the API at ${root}${cause ? ` (${cause})` : ''}: is the local stack running (npm start), or pass --api URL`,
        );
      }
      const text = await response.text();
      let body: unknown = null;
      if (text !== '') {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      if (!response.ok && !(request.accept ?? []).includes(response.status)) {
        if (response.status === 401) {
          throw new ApiRequestError(401, 'the API refused the token (HTTP 401): pass a valid --token', body);
        }
        throw new ApiRequestError(response.status, describeError(response.status, body), body);
      }
      return { status: response.status, body };
    },
  };
}
