import type { z } from 'zod';
import { BadRequestError, type ErrorDetail, PayloadTooLargeError } from '#shared/http/errors.ts';
import type { RouteDefinition } from '#shared/http/routes.ts';

/**
 * Validation of a payload 2.0 request against its route's zod schemas. Every bad field is named
 * (`query.limit`, `path.vmid`, `body.teachers[2]`) in one 400; messages never echo the input.
 */

/** Where a bad field is. */
export type InputLocation = 'path' | 'query' | 'body';

/** The parts of a payload 2.0 event validation reads. */
export interface RawRequest {
  readonly pathParameters?: Readonly<Record<string, string | undefined>> | null | undefined;
  readonly queryStringParameters?: Readonly<Record<string, string | undefined>> | null | undefined;
  readonly body?: string | null | undefined;
  readonly isBase64Encoded?: boolean | undefined;
}

/** The validated input of a request (schema outputs; `undefined` for parts the route does not take). */
export interface ValidatedInput {
  readonly path: unknown;
  readonly query: unknown;
  readonly body: unknown;
}

const MAX_DETAILS = 25;
const MAX_FIELD_LENGTH = 200;
const MAX_MESSAGE_LENGTH = 200;

const truncate = (text: string, max: number): string =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;

/** JSON string literal with invisible characters (format, control, separators) escaped as `\\uXXXX`. */
function visibleJson(text: string): string {
  return JSON.stringify(text).replace(
    /[\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}\u00a0\u2000-\u200a\u202f\u205f\u3000]/gu,
    (char) => `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`,
  );
}

/** Renders a zod issue path after its location: `body.vms[0].vmid`, `body["alice@pve"][1]`. */
export function formatField(location: InputLocation, path: readonly PropertyKey[]): string {
  let field: string = location;
  for (const key of path) {
    if (typeof key === 'number') field += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) field += `.${key}`;
    else field += `[${visibleJson(String(key))}]`;
  }
  return truncate(field, MAX_FIELD_LENGTH);
}

/** Turns zod issues into error details, one per bad field (unknown keys each get their own). */
export function issuesToDetails(location: InputLocation, issues: readonly z.core.$ZodIssue[]): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        details.push({ field: formatField(location, [...issue.path, key]), message: 'unknown field' });
      }
      continue;
    }
    details.push({
      field: formatField(location, issue.path),
      message: truncate(issue.message, MAX_MESSAGE_LENGTH),
    });
  }
  return details.slice(0, MAX_DETAILS);
}

/** Drops keys whose value is undefined (payload 2.0 maps are `string | undefined`). */
function definedEntries(
  map: Readonly<Record<string, string | undefined>> | null | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (map) {
    for (const [key, value] of Object.entries(map)) if (value !== undefined) out[key] = value;
  }
  return out;
}

/** Size of the body in bytes, as sent (base64 bodies decoded). */
export function bodyBytes(request: RawRequest): number {
  if (request.body === undefined || request.body === null) return 0;
  if (request.isBase64Encoded) return Buffer.from(request.body, 'base64').length;
  return Buffer.byteLength(request.body, 'utf8');
}

/** The JSON body, or `undefined` when there is none; throws a 400 naming `body` when it is not JSON. */
export function parseJsonBody(request: RawRequest): unknown {
  if (request.body === undefined || request.body === null || request.body === '') return undefined;
  const text = request.isBase64Encoded ? Buffer.from(request.body, 'base64').toString('utf8') : request.body;
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    // The parser's message quotes the body: never echo it.
    throw new BadRequestError(
      'The request is invalid',
      [{ field: 'body', message: 'must be valid JSON' }],
      error,
    );
  }
}

/**
 * Validates path, query and body of a request against the route's schemas. Collects the problems
 * of all three before throwing one {@link BadRequestError}.
 */
export function validateRequest(
  route: Pick<RouteDefinition, 'request' | 'maxBodyBytes'>,
  request: RawRequest,
): ValidatedInput {
  if (route.maxBodyBytes !== undefined) {
    const bytes = bodyBytes(request);
    if (bytes > route.maxBodyBytes) {
      throw new PayloadTooLargeError(
        `The body is ${bytes} bytes; this route accepts at most ${route.maxBodyBytes} bytes`,
      );
    }
  }
  const details: ErrorDetail[] = [];
  const run = (location: InputLocation, schema: z.ZodType | undefined, input: () => unknown): unknown => {
    if (schema === undefined) return undefined;
    let value: unknown;
    try {
      value = input();
    } catch (error) {
      if (error instanceof BadRequestError) {
        details.push(...error.fields);
        return undefined;
      }
      throw error;
    }
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    if (location === 'body' && value === undefined) {
      details.push({ field: 'body', message: 'a JSON body is required' });
    } else {
      details.push(...issuesToDetails(location, parsed.error.issues));
    }
    return undefined;
  };
  const path = run('path', route.request.path, () => definedEntries(request.pathParameters));
  const query = run('query', route.request.query, () => definedEntries(request.queryStringParameters));
  const body = run('body', route.request.body, () => parseJsonBody(request));
  if (details.length > 0) throw new BadRequestError('The request is invalid', details.slice(0, MAX_DETAILS));
  return { path, query, body };
}
