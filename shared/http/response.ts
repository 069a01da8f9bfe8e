import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/**
 * Turning a handler's result into a payload 2.0 response: JSON, weak ETags with If-None-Match →
 * 304, and gzip for large bodies (API Gateway HTTP APIs never compress by themselves, and they bill
 * per 512 KB of response).
 */

/** What a route handler returns. */
export interface HttpResult {
  readonly status: number;
  /** serialized as JSON; omit for 204 */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Adds an ETag and answers 304 when If-None-Match matches. `true` hashes the serialized body;
   * `{ basis }` hashes `basis` instead, for bodies holding fields that change on every call
   * (e.g. `generated_at`) but do not change the representation; `{ value }` is a tag made by the
   * handler (the list's versions tag).
   */
  readonly etag?: true | { readonly basis: unknown } | { readonly value: string };
}

/** Bodies larger than this many bytes are gzipped when the client accepts it. */
export const GZIP_MIN_BYTES = 1024;

/**
 * Bodies at least this large are gzipped at {@link GZIP_FAST_LEVEL} instead of zlib's default 6:
 * an admin's 1,000-VM list (~650 KB of JSON) then takes about 40% of the CPU time for about 30%
 * more bytes (README "Latency").
 */
export const GZIP_FAST_MIN_BYTES = 128 * 1024;

/** The gzip level of large bodies (zlib's fastest strategy, the best ratio of levels 1–3). */
export const GZIP_FAST_LEVEL = 3;

/** The gzip level for a body of `bytes` bytes: 6 (zlib's default), {@link GZIP_FAST_LEVEL} for large ones. */
export function gzipLevelFor(bytes: number): number {
  return bytes >= GZIP_FAST_MIN_BYTES ? GZIP_FAST_LEVEL : 6;
}

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** A weak ETag over a string: `W/"<first 27 base64url chars of its SHA-256>"`. */
export function computeEtag(basis: string): string {
  const digest = createHash('sha256').update(basis).digest('base64url').slice(0, 27);
  return `W/"${digest}"`;
}

/** Weak comparison of an If-None-Match header with an ETag (RFC 9110 §13.1.2), `*` included. */
export function ifNoneMatchMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const opaque = (tag: string): string => tag.trim().replace(/^W\//, '');
  const wanted = opaque(etag);
  return ifNoneMatch.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || (tag !== '' && opaque(tag) === wanted);
  });
}

/** Whether an Accept-Encoding header accepts gzip (an explicit `q=0` refuses it). */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (acceptEncoding === undefined) return false;
  let gzipQuality: number | null = null;
  let starQuality: number | null = null;
  for (const part of acceptEncoding.split(',')) {
    const [codingRaw, ...params] = part.split(';');
    const coding = (codingRaw ?? '').trim().toLowerCase();
    let quality = 1;
    for (const param of params) {
      const match = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(param);
      if (match?.[1] !== undefined) quality = Number(match[1]);
    }
    if (coding === 'gzip' || coding === 'x-gzip') gzipQuality = quality;
    else if (coding === '*') starQuality = quality;
  }
  const effective = gzipQuality ?? starQuality;
  return effective !== null && effective > 0;
}

/** Request headers the serializer looks at (lower-cased, as payload 2.0 gives them). */
export interface ResponseContext {
  readonly method: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
}

/**
 * Serializes a handler result: JSON body, ETag/304 when asked for, gzip + base64 when the client
 * accepts it and the body is larger than {@link GZIP_MIN_BYTES}.
 */
export function toHttpResponse(
  result: HttpResult,
  request: ResponseContext,
): APIGatewayProxyStructuredResultV2 {
  const headers: Record<string, string> = { ...result.headers };
  if (result.body === undefined) {
    headers['cache-control'] ??= 'no-store';
    return { statusCode: result.status, headers };
  }
  const body = JSON.stringify(result.body);
  headers['content-type'] = JSON_CONTENT_TYPE;
  if (result.etag !== undefined) {
    const etag =
      result.etag === true
        ? computeEtag(body)
        : 'value' in result.etag
          ? result.etag.value
          : computeEtag(JSON.stringify(result.etag.basis));
    headers.etag = etag;
    // Per-user data: caches may keep it but must revalidate (cheap with the ETag).
    headers['cache-control'] ??= 'private, no-cache';
    const method = request.method.toUpperCase();
    if (
      (method === 'GET' || method === 'HEAD') &&
      ifNoneMatchMatches(request.headers['if-none-match'], etag)
    ) {
      delete headers['content-type'];
      return { statusCode: 304, headers };
    }
  } else {
    headers['cache-control'] ??= 'no-store';
  }
  const size = Buffer.byteLength(body);
  if (size > GZIP_MIN_BYTES) {
    headers.vary = 'accept-encoding';
    if (acceptsGzip(request.headers['accept-encoding'])) {
      headers['content-encoding'] = 'gzip';
      return {
        statusCode: result.status,
        headers,
        body: gzipSync(body, { level: gzipLevelFor(size) }).toString('base64'),
        isBase64Encoded: true,
      };
    }
  }
  return { statusCode: result.status, headers, body, isBase64Encoded: false };
}
