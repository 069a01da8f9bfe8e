import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLocalIssuer, type LocalIssuer } from '#local/auth/issuer.ts';
import { createOidcProvider, type OidcRequest, s256Challenge } from '#local/auth/oidc-provider.ts';

/** The local issuer's OIDC endpoints, called as the gateway calls them (no network). */

const ORIGIN = 'http://127.0.0.1:18080';
let issuer: LocalIssuer;
let provider: ReturnType<typeof createOidcProvider>;

const request = (method: string, target: string, body = '', cookie?: string): OidcRequest => {
  const url = new URL(target, ORIGIN);
  return {
    method,
    path: url.pathname,
    query: url.searchParams,
    headers: { host: '127.0.0.1:18080', ...(cookie === undefined ? {} : { cookie }) },
    body: Buffer.from(body),
  };
};

const verifier = `${'a'.repeat(43)}VerifierOfTheClient0123456789`;
const authorizeParams = (overrides: Record<string, string> = {}) =>
  new URLSearchParams({
    client_id: 'pve-inventory-local',
    redirect_uri: `${ORIGIN}/callback`,
    response_type: 'code',
    scope: 'openid',
    state: 'st-1',
    code_challenge: s256Challenge(verifier),
    code_challenge_method: 'S256',
    ...overrides,
  });

async function signIn(username: string) {
  const params = authorizeParams();
  params.set('username', username);
  const answer = await provider(request('POST', '/auth/authorize', params.toString()));
  if (answer === null) throw new Error('no answer');
  const location = new URL(answer.headers.location ?? '');
  return { answer, code: location.searchParams.get('code') ?? '', location };
}

const tokenForm = (code: string, codeVerifier = verifier) =>
  new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    code_verifier: codeVerifier,
    client_id: 'pve-inventory-local',
    redirect_uri: `${ORIGIN}/callback`,
  }).toString();

const json = (body: Buffer): Record<string, unknown> => JSON.parse(body.toString('utf8'));

beforeAll(async () => {
  issuer = await createLocalIssuer();
  provider = createOidcProvider({
    issuer,
    users: [
      { username: 'alice', groups: [], role: 'student' },
      { username: 'admin', groups: ['admins'], role: 'admin' },
    ],
    origins: () => [ORIGIN],
  });
});

describe('local OIDC provider', () => {
  it('serves discovery with endpoints on the request origin and the issuer of the tokens', async () => {
    const answer = await provider(request('GET', '/auth/.well-known/openid-configuration'));
    expect(answer?.headers['content-type']).toBe('application/json');
    const doc = json(answer?.body ?? Buffer.alloc(0));
    expect(doc.issuer).toBe(issuer.issuerUrl);
    expect(doc.token_endpoint).toBe(`${ORIGIN}/auth/token`);
    expect(doc.end_session_endpoint).toBe(`${ORIGIN}/auth/logout`);
    expect(doc.code_challenge_methods_supported).toEqual(['S256']);
  });

  it('lists the demo users on the sign-in page and keeps the request in hidden fields', async () => {
    const answer = await provider(request('GET', `/auth/authorize?${authorizeParams()}`));
    const page = answer?.body.toString('utf8') ?? '';
    expect(answer?.status).toBe(200);
    expect(page).toContain('value="alice"');
    expect(page).toContain('value="admin"');
    expect(page).toContain('name="state" value="st-1"');
  });

  it('refuses an unregistered redirect URI and a plain PKCE method', async () => {
    const evil = await provider(
      request('GET', `/auth/authorize?${authorizeParams({ redirect_uri: 'https://evil.example/cb' })}`),
    );
    expect(evil?.status).toBe(400);
    expect(evil?.body.toString()).toContain('redirect_uri is not registered');
    const plain = await provider(
      request('GET', `/auth/authorize?${authorizeParams({ code_challenge_method: 'plain' })}`),
    );
    expect(plain?.status).toBe(400);
  });

  it('redirects with a code and the state, and exchanges the code once with the right verifier', async () => {
    const { answer, code, location } = await signIn('admin');
    expect(answer.status).toBe(302);
    expect(`${location.origin}${location.pathname}`).toBe(`${ORIGIN}/callback`);
    expect(location.searchParams.get('state')).toBe('st-1');
    const tokens = await provider(request('POST', '/auth/token', tokenForm(code)));
    expect(tokens?.status).toBe(200);
    expect(tokens?.headers['cache-control']).toBe('no-store');
    const body = json(tokens?.body ?? Buffer.alloc(0));
    const access = decodeJwt(String(body.access_token));
    expect(access.username).toBe('admin');
    expect(access['cognito:groups']).toEqual(['admins']);
    expect(access.client_id).toBe('pve-inventory-local');
    expect(decodeJwt(String(body.id_token)).aud).toBe('pve-inventory-local');
    const again = await provider(request('POST', '/auth/token', tokenForm(code)));
    expect(again?.status).toBe(400);
  });

  it('refuses a code whose verifier does not match the challenge', async () => {
    const { code } = await signIn('alice');
    const wrong = createHash('sha256').update('other').digest('base64url');
    const answer = await provider(request('POST', '/auth/token', tokenForm(code, `${wrong}xxxxxxxxxxxx`)));
    expect(answer?.status).toBe(400);
    expect(json(answer?.body ?? Buffer.alloc(0)).error_description).toBe(
      'code_verifier does not match the code_challenge',
    );
  });

  it('renews with a refresh token and signs in again from the session until logout', async () => {
    const { answer, code } = await signIn('alice');
    const cookie = (answer.cookies?.[0] ?? '').split(';')[0] ?? '';
    const tokens = json(
      (await provider(request('POST', '/auth/token', tokenForm(code))))?.body ?? Buffer.alloc(0),
    );
    const refreshed = await provider(
      request(
        'POST',
        '/auth/token',
        new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: String(tokens.refresh_token),
          client_id: 'pve-inventory-local',
        }).toString(),
      ),
    );
    expect(decodeJwt(String(json(refreshed?.body ?? Buffer.alloc(0)).access_token)).username).toBe('alice');

    const silent = await provider(request('GET', `/auth/authorize?${authorizeParams()}`, '', cookie));
    expect(silent?.status).toBe(302);
    const out = await provider(
      request(
        'GET',
        `/auth/logout?client_id=pve-inventory-local&logout_uri=${encodeURIComponent(`${ORIGIN}/`)}`,
        '',
        cookie,
      ),
    );
    expect(out?.status).toBe(302);
    expect(out?.headers.location).toBe(`${ORIGIN}/`);
    const after = await provider(request('GET', `/auth/authorize?${authorizeParams()}`, '', cookie));
    expect(after?.status).toBe(200);
  });

  it('leaves other paths to the next responder', async () => {
    expect(await provider(request('GET', '/api/vms'))).toBeNull();
    expect(await provider(request('GET', '/authority'))).toBeNull();
  });
});
