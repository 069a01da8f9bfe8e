import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewaySite } from '#local/gateway/server.ts';
import { createPortalSite } from '#local/web/portal-site.ts';

/** The built portal served on the API's origin: files, SPA routes, runtime config, no escapes. */

let dir: string;
let site: GatewaySite;
const get = (path: string, method = 'GET') =>
  site({
    method,
    path,
    query: new URLSearchParams(),
    headers: { host: 'localhost:8080' },
    body: Buffer.alloc(0),
  });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'portal-site-'));
  mkdirSync(join(dir, 'dist', 'assets'), { recursive: true });
  writeFileSync(join(dir, 'dist', 'index.html'), '<!doctype html><title>portal</title>');
  writeFileSync(join(dir, 'dist', 'assets', 'index-abc.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), 'outside');
  site = createPortalSite({
    distDir: join(dir, 'dist'),
    config: (origin) => ({ apiUrl: origin, authority: `${origin}/auth`, clientId: 'local' }),
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('portal site', () => {
  it('serves index.html for SPA routes with the strict CSP', async () => {
    const answer = await get('/admin/vms');
    expect(answer?.status).toBe(200);
    expect(answer?.body.toString()).toContain('<title>portal</title>');
    expect(answer?.headers['content-security-policy']).toContain("script-src 'self'");
    expect(answer?.headers['cache-control']).toBe('no-cache');
  });
  it('serves hashed assets as immutable', async () => {
    const answer = await get('/assets/index-abc.js');
    expect(answer?.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(answer?.headers['cache-control']).toContain('immutable');
  });
  it('writes config.json for the request origin', async () => {
    const answer = await get('/config.json');
    expect(JSON.parse(answer?.body.toString() ?? '{}')).toEqual({
      apiUrl: 'http://localhost:8080',
      authority: 'http://localhost:8080/auth',
      clientId: 'local',
    });
  });
  it('leaves API paths, other methods, missing files and escapes from the folder alone', async () => {
    expect(await get('/api/nothing')).toBeNull();
    expect(await get('/admin', 'POST')).toBeNull();
    expect(await get('/assets/missing.js')).toBeNull();
    expect(await get('/../secret.txt')).toBeNull();
    expect(await get('/%2e%2e/secret.txt')).toBeNull();
  });
  it('answers 503 with the build command when the portal is not built', async () => {
    const unbuilt = createPortalSite({
      distDir: join(dir, 'none'),
      config: () => ({ apiUrl: 'http://x', authority: 'http://x/auth', clientId: 'c' }),
    });
    const answer = await unbuilt({
      method: 'GET',
      path: '/',
      query: new URLSearchParams(),
      headers: {},
      body: Buffer.alloc(0),
    });
    expect(answer?.status).toBe(503);
    expect(answer?.body.toString()).toContain('npm run build:web');
  });
});
