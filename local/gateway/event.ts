import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';

/**
 * Payload format 2.0 events, built the way API Gateway HTTP APIs build them: lower-cased headers
 * (repeated ones comma-joined), cookies split out, query parameters decoded with repeats
 * comma-joined, binary bodies base64-encoded, and JWT claims flattened to strings (arrays as
 * `"[a b]"`), which is why handlers must parse groups in every form.
 */

/** Flattens verified JWT claims as API Gateway does: every value a string, arrays as `"[a b]"`. */
export function shapeClaims(payload: Readonly<Record<string, unknown>>): Record<string, string> {
  const shaped: Record<string, string> = {};
  for (const [name, value] of Object.entries(payload)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value))
      shaped[name] =
        `[${value.map((item) => (typeof item === 'string' ? item : JSON.stringify(item))).join(' ')}]`;
    else if (typeof value === 'object') shaped[name] = JSON.stringify(value);
    else shaped[name] = String(value);
  }
  return shaped;
}

/** Decoded query parameters with repeated names comma-joined; `undefined` when there are none. */
export function parseQueryString(rawQueryString: string): Record<string, string> | undefined {
  if (rawQueryString === '') return undefined;
  const params: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    params[name] = params[name] === undefined ? value : `${params[name]},${value}`;
  }
  return Object.keys(params).length === 0 ? undefined : params;
}

const TEXT_TYPES =
  /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded|[a-z.+-]*\+(json|xml)))/i;

/** Whether a request body is passed as text (otherwise base64, `isBase64Encoded: true`). */
export function isTextContent(contentType: string | undefined, body: Buffer): boolean {
  if (contentType !== undefined && !TEXT_TYPES.test(contentType.trim())) return false;
  // Without a content type, pass text only when it decodes as UTF-8 losslessly.
  return Buffer.from(body.toString('utf8'), 'utf8').equals(body);
}

/** API Gateway's `requestContext.time` format: `25/Nov/2026:21:26:11 +0000`. */
export function formatRequestTime(epochMs: number): string {
  const date = new Date(epochMs);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (value: number): string => String(value).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/** A request id in API Gateway's style. */
export function newRequestId(): string {
  return randomBytes(12).toString('base64').replace(/[+/]/g, 'A');
}

/** What {@link buildHttpApiEvent} needs to know about a request. */
export interface HttpApiRequestInput {
  readonly method: string;
  /** Path as received (still percent-encoded), without the query string. */
  readonly rawPath: string;
  readonly rawQueryString?: string;
  /** Header name → value(s); names in any case. */
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body?: Buffer | string;
  /** `METHOD /path` of the matched route. */
  readonly routeKey: string;
  readonly pathParameters?: Readonly<Record<string, string>>;
  readonly sourceIp?: string;
  /** Verified claims: the event gets `authorizer.jwt` (claims shaped as API Gateway shapes them). */
  readonly jwt?: { readonly claims: Readonly<Record<string, unknown>>; readonly scopes: string[] | null };
  readonly requestId?: string;
  readonly timeEpoch?: number;
  readonly stage?: string;
}

/** Builds the payload 2.0 event API Gateway would hand the integration. */
export function buildHttpApiEvent(
  input: HttpApiRequestInput,
): APIGatewayProxyEventV2 | APIGatewayProxyEventV2WithJWTAuthorizer {
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(input.headers ?? {})) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    const values = typeof value === 'string' ? [value] : [...value];
    if (lower === 'cookie') {
      cookies = [
        ...(cookies ?? []),
        ...values.flatMap((line) =>
          line
            .split(';')
            .map((c) => c.trim())
            .filter((c) => c !== ''),
        ),
      ];
      continue;
    }
    headers[lower] =
      headers[lower] === undefined ? values.join(',') : `${headers[lower]},${values.join(',')}`;
  }
  const rawQueryString = input.rawQueryString ?? '';
  const timeEpoch = input.timeEpoch ?? Date.now();
  const requestId = input.requestId ?? newRequestId();
  const method = input.method.toUpperCase();
  const sourceIp = input.sourceIp ?? '127.0.0.1';
  const stage = input.stage ?? '$default';
  const requestContext = {
    accountId: 'local',
    apiId: 'local',
    domainName: headers.host ?? 'localhost',
    domainPrefix: (headers.host ?? 'localhost').split('.')[0] ?? 'localhost',
    http: {
      method,
      path: input.rawPath,
      protocol: 'HTTP/1.1',
      sourceIp,
      userAgent: headers['user-agent'] ?? '',
    },
    requestId,
    routeKey: input.routeKey,
    stage,
    time: formatRequestTime(timeEpoch),
    timeEpoch,
  };
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: input.routeKey,
    rawPath: input.rawPath,
    rawQueryString,
    headers,
    requestContext,
    isBase64Encoded: false,
  };
  if (cookies !== undefined) event.cookies = cookies;
  const query = parseQueryString(rawQueryString);
  if (query !== undefined) event.queryStringParameters = query;
  if (input.pathParameters !== undefined && Object.keys(input.pathParameters).length > 0) {
    event.pathParameters = { ...input.pathParameters };
  }
  if (input.body !== undefined && input.body.length > 0) {
    const buffer = typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : input.body;
    if (isTextContent(headers['content-type'], buffer)) {
      event.body = buffer.toString('utf8');
    } else {
      event.body = buffer.toString('base64');
      event.isBase64Encoded = true;
    }
  }
  if (input.jwt === undefined) return event;
  return {
    ...event,
    requestContext: {
      ...requestContext,
      authorizer: {
        principalId: '',
        integrationLatency: 0,
        jwt: { claims: shapeClaims(input.jwt.claims), scopes: input.jwt.scopes ?? [] },
      },
    },
  };
}
