import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  acceptsGzip,
  computeEtag,
  GZIP_FAST_LEVEL,
  GZIP_FAST_MIN_BYTES,
  GZIP_MIN_BYTES,
  gzipLevelFor,
  ifNoneMatchMatches,
  toHttpResponse,
} from '#shared/http/response.ts';

const get = (headers: Record<string, string> = {}) => ({ method: 'GET', headers });

describe('ETags', () => {
  it('gives equal bodies equal weak ETags and different bodies different ones', () => {
    expect(computeEtag('{"a":1}')).toBe(computeEtag('{"a":1}'));
    expect(computeEtag('{"a":1}')).not.toBe(computeEtag('{"a":2}'));
    expect(computeEtag('x')).toMatch(/^W\/"[A-Za-z0-9_-]{27}"$/);
  });

  it('compares If-None-Match weakly, in lists and with *', () => {
    const etag = computeEtag('x');
    expect(ifNoneMatchMatches(etag, etag)).toBe(true);
    expect(ifNoneMatchMatches(etag.replace('W/', ''), etag)).toBe(true);
    expect(ifNoneMatchMatches(`"other", ${etag}`, etag)).toBe(true);
    expect(ifNoneMatchMatches('*', etag)).toBe(true);
    expect(ifNoneMatchMatches('"other"', etag)).toBe(false);
    expect(ifNoneMatchMatches(undefined, etag)).toBe(false);
  });

  it('answers 304 without a body when If-None-Match matches', () => {
    const first = toHttpResponse({ status: 200, body: { vms: [1, 2] }, etag: true }, get());
    const etag = first.headers?.etag;
    expect(typeof etag).toBe('string');
    const second = toHttpResponse(
      { status: 200, body: { vms: [1, 2] }, etag: true },
      get({ 'if-none-match': String(etag) }),
    );
    expect(second.statusCode).toBe(304);
    expect(second.body).toBeUndefined();
    expect(second.headers?.etag).toBe(etag);
    const changed = toHttpResponse(
      { status: 200, body: { vms: [1, 3] }, etag: true },
      get({ 'if-none-match': String(etag) }),
    );
    expect(changed.statusCode).toBe(200);
  });

  it('hashes the given basis instead of the body, so volatile fields do not defeat the ETag', () => {
    const a = toHttpResponse(
      { status: 200, body: { vms: [], generated_at: 'a' }, etag: { basis: { vms: [] } } },
      get(),
    );
    const b = toHttpResponse(
      { status: 200, body: { vms: [], generated_at: 'b' }, etag: { basis: { vms: [] } } },
      get({ 'if-none-match': String(a.headers?.etag) }),
    );
    expect(b.statusCode).toBe(304);
  });

  it('never answers 304 to a non-GET request', () => {
    const etag = computeEtag(JSON.stringify({ ok: true }));
    const response = toHttpResponse(
      { status: 200, body: { ok: true }, etag: true },
      { method: 'PUT', headers: { 'if-none-match': etag } },
    );
    expect(response.statusCode).toBe(200);
  });
});

describe('gzip', () => {
  const large = { items: Array.from({ length: 200 }, (_, index) => ({ index, name: `vm-${index}` })) };

  it('reads Accept-Encoding with q-values and wildcards', () => {
    expect(acceptsGzip('gzip, deflate, br')).toBe(true);
    expect(acceptsGzip('br;q=1.0, gzip;q=0.8')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('*')).toBe(true);
    expect(acceptsGzip('identity')).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
  });

  it('gzips a large body as base64 when the client accepts it', () => {
    const response = toHttpResponse({ status: 200, body: large }, get({ 'accept-encoding': 'gzip' }));
    expect(response.isBase64Encoded).toBe(true);
    expect(response.headers?.['content-encoding']).toBe('gzip');
    expect(response.headers?.vary).toBe('accept-encoding');
    const text = gunzipSync(Buffer.from(String(response.body), 'base64')).toString('utf8');
    expect(JSON.parse(text)).toEqual(large);
  });

  it('sends small bodies and bodies for clients without gzip as plain JSON', () => {
    const small = toHttpResponse({ status: 200, body: { ok: true } }, get({ 'accept-encoding': 'gzip' }));
    expect(small.isBase64Encoded).toBe(false);
    expect(small.headers?.['content-encoding']).toBeUndefined();
    expect(JSON.stringify({ ok: true }).length).toBeLessThan(GZIP_MIN_BYTES);
    const plain = toHttpResponse({ status: 200, body: large }, get());
    expect(plain.headers?.['content-encoding']).toBeUndefined();
    expect(JSON.parse(String(plain.body))).toEqual(large);
  });

  it('gzips bodies from the fast-level size on at the fast level, smaller ones at 6, both decoding to the JSON', () => {
    expect(gzipLevelFor(GZIP_FAST_MIN_BYTES - 1)).toBe(6);
    expect(gzipLevelFor(GZIP_FAST_MIN_BYTES)).toBe(GZIP_FAST_LEVEL);
    const huge = {
      items: Array.from({ length: 4000 }, (_, index) => ({
        index,
        name: `vm-${index}`,
        tags: ['lab', 'é"\\'],
      })),
    };
    const json = JSON.stringify(huge);
    expect(Buffer.byteLength(json)).toBeGreaterThanOrEqual(GZIP_FAST_MIN_BYTES);
    for (const [body, text] of [
      [huge, json],
      [large, JSON.stringify(large)],
    ] as const) {
      const response = toHttpResponse({ status: 200, body }, get({ 'accept-encoding': 'gzip;q=0.5' }));
      const bytes = Buffer.from(String(response.body), 'base64');
      expect(gunzipSync(bytes).toString('utf8')).toBe(text);
      // The level chosen is the one the size calls for (zlib's output is deterministic).
      expect(bytes.equals(gzipSync(text, { level: gzipLevelFor(Buffer.byteLength(text)) }))).toBe(true);
    }
    // Refusing gzip still gets the plain JSON, whatever the size.
    const refused = toHttpResponse({ status: 200, body: huge }, get({ 'accept-encoding': 'gzip;q=0, br' }));
    expect(refused.isBase64Encoded).toBe(false);
    expect(refused.body).toBe(json);
  });

  it('answers bodiless results without a content type', () => {
    const response = toHttpResponse({ status: 204 }, get());
    expect(response).toEqual({ statusCode: 204, headers: { 'cache-control': 'no-store' } });
  });
});
