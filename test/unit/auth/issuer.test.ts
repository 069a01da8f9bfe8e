import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { createLocalIssuer, IssuerKeyError } from '#local/auth/issuer.ts';

const dir = await mkdtemp(join(tmpdir(), 'issuer-test-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('local issuer', () => {
  it('issues Cognito-shaped ID tokens', async () => {
    const issuer = await createLocalIssuer({
      issuerUrl: 'https://issuer.localhost/t',
      clientId: 'client-1',
      now: () => 1_700_000_000_000,
    });
    const token = await issuer.issueToken('alice', { groups: ['teachers'], expiresIn: 600 });
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'RS256', kid: issuer.keyId, typ: 'JWT' });
    expect(decodeJwt(token)).toMatchObject({
      iss: 'https://issuer.localhost/t',
      aud: 'client-1',
      token_use: 'id',
      'cognito:username': 'alice',
      'cognito:groups': ['teachers'],
      iat: 1_700_000_000,
      exp: 1_700_000_600,
    });
  });

  it('issues access tokens with client_id and no aud, and the same sub for the same user', async () => {
    const issuer = await createLocalIssuer();
    const { idToken, accessToken } = await issuer.issueTokens('bob', { groups: ['admins'] });
    const access = decodeJwt(accessToken);
    expect(access).toMatchObject({
      token_use: 'access',
      client_id: issuer.clientId,
      username: 'bob',
      'cognito:groups': ['admins'],
    });
    expect(access.aud).toBeUndefined();
    expect(access.sub).toBe(decodeJwt(idToken).sub);
  });

  it('publishes its public key only', async () => {
    const issuer = await createLocalIssuer();
    const [key] = issuer.jwks().keys;
    expect(key).toMatchObject({ kty: 'RSA', kid: issuer.keyId, alg: 'RS256', use: 'sig' });
    expect(key).not.toHaveProperty('d');
  });

  it('creates a key file on first start and reuses it', async () => {
    const keyFile = join(dir, 'nested', 'issuer.pem');
    const first = await createLocalIssuer({ keyFile });
    const second = await createLocalIssuer({ keyFile });
    expect(second.keyId).toBe(first.keyId);
  });

  it('refuses a key file that holds no private key', async () => {
    const keyFile = join(dir, 'bad.pem');
    await writeFile(keyFile, 'not a key');
    await expect(createLocalIssuer({ keyFile })).rejects.toThrow(IssuerKeyError);
  });
});
