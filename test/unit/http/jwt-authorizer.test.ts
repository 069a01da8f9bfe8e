import { describe, expect, it } from 'vitest';
import { createLocalIssuer } from '#local/auth/issuer.ts';
import { createJwtAuthorizer } from '#local/gateway/jwt-authorizer.ts';

const issuer = await createLocalIssuer({ issuerUrl: 'https://issuer.localhost/a', clientId: 'app' });
const authorize = createJwtAuthorizer({
  issuer: issuer.issuerUrl,
  audience: ['app', 'other-app'],
  jwks: issuer.jwks(),
});

describe('JWT authorizer', () => {
  it('accepts a valid token with or without the Bearer prefix', async () => {
    const token = await issuer.issueToken('alice');
    expect((await authorize(`Bearer ${token}`)).ok).toBe(true);
    expect((await authorize(token)).ok).toBe(true);
  });

  it('accepts any configured audience, in aud or (without aud) in client_id', async () => {
    expect((await authorize(await issuer.issueToken('a', { audience: 'other-app' }))).ok).toBe(true);
    expect((await authorize(await issuer.issueToken('a', { tokenUse: 'access' }))).ok).toBe(true);
    expect((await authorize(await issuer.issueToken('a', { extraClaims: { aud: ['x', 'app'] } }))).ok).toBe(
      true,
    );
  });

  it('refuses client_id when an aud is present but wrong', async () => {
    const token = await issuer.issueToken('a', { audience: 'nope', extraClaims: { client_id: 'app' } });
    expect(await authorize(token)).toEqual({ ok: false, reason: 'audience mismatch' });
  });

  it('refuses missing exp, future nbf and future iat', async () => {
    const noExp = await issuer.issueToken('a', { extraClaims: { exp: undefined } });
    expect((await authorize(noExp)).ok).toBe(false);
    expect((await authorize(await issuer.issueToken('a', { notBeforeIn: 60 }))).ok).toBe(false);
    const futureIat = await issuer.issueToken('a', {
      extraClaims: { iat: Math.floor(Date.now() / 1000) + 600 },
    });
    expect((await authorize(futureIat)).ok).toBe(false);
  });

  it('returns the token scopes, split', async () => {
    const result = await authorize(await issuer.issueToken('a', { tokenUse: 'access' }));
    expect(result).toMatchObject({ ok: true, scopes: ['aws.cognito.signin.user.admin'] });
  });

  it('refuses tokens of another issuer and unsigned tokens', async () => {
    const other = await createLocalIssuer({ issuerUrl: issuer.issuerUrl, clientId: 'app' });
    expect((await authorize(await other.issueToken('a'))).ok).toBe(false);
    const payload = (await issuer.issueToken('a')).split('.')[1];
    const none = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${payload}.`;
    expect((await authorize(none)).ok).toBe(false);
  });
});
