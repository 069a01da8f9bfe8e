import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { createLocalIssuer, type IssueTokenOptions, type LocalIssuer } from '#local/auth/issuer.ts';

/**
 * Tokens for tests: a local issuer with a fixed audience, the demo users of the authorization
 * matrix, and tokens the JWT authorizer must refuse (forged, expired, wrong audience, …).
 */

/** Audience (app client id) of test tokens; start the gateway with it. */
export const TEST_AUDIENCE = 'pve-inventory-test-client';

/** Issuer URL of test tokens. */
export const TEST_ISSUER_URL = 'https://issuer.localhost/pve-inventory-test';

/** The users of the authorization matrix: two students, a teacher of A's class, an admin. */
export const TEST_USERS = {
  studentA: { username: 'alice', groups: [] },
  studentB: { username: 'bob', groups: [] },
  teacher: { username: 'carol', groups: ['teachers'] },
  admin: { username: 'dave', groups: ['admins'] },
} as const satisfies Record<string, { username: string; groups: readonly string[] }>;

export type TestUser = keyof typeof TEST_USERS;

/** A fresh local issuer for the test audience. */
export function createTestIssuer(): Promise<LocalIssuer> {
  return createLocalIssuer({ issuerUrl: TEST_ISSUER_URL, clientId: TEST_AUDIENCE });
}

/** A valid ID token per test user. */
export async function testUserTokens(issuer: LocalIssuer): Promise<Record<TestUser, string>> {
  const tokenFor = (user: TestUser): Promise<string> =>
    issuer.issueToken(TEST_USERS[user].username, { groups: [...TEST_USERS[user].groups] });
  return {
    studentA: await tokenFor('studentA'),
    studentB: await tokenFor('studentB'),
    teacher: await tokenFor('teacher'),
    admin: await tokenFor('admin'),
  };
}

/** Tokens the authorizer must refuse, each for `username`. */
export interface RefusedTokens {
  /** right claims and key id, signed by another key */
  readonly forged: string;
  readonly expired: string;
  readonly wrongAudience: string;
  readonly wrongIssuer: string;
  readonly notYetValid: string;
  /** an access token whose `client_id` is not the audience */
  readonly wrongClientId: string;
}

/** Builds every kind of refused token. */
export async function refusedTokens(
  issuer: LocalIssuer,
  username = 'alice',
  groups: string[] = [],
): Promise<RefusedTokens> {
  const options: IssueTokenOptions = { groups };
  const nowSeconds = Math.floor(Date.now() / 1000);
  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const forged = await new SignJWT({
    sub: 'forged',
    'cognito:username': username,
    'cognito:groups': ['admins'],
    aud: issuer.clientId,
    token_use: 'id',
  })
    .setProtectedHeader({ alg: 'RS256', kid: issuer.keyId, typ: 'JWT' })
    .setIssuer(issuer.issuerUrl)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + 3600)
    .sign(otherKey);
  const otherIssuer = await createLocalIssuer({
    issuerUrl: 'https://issuer.localhost/other',
    clientId: issuer.clientId,
  });
  return {
    forged,
    expired: await issuer.issueToken(username, { ...options, expiresIn: -60 }),
    wrongAudience: await issuer.issueToken(username, { ...options, audience: 'some-other-client' }),
    wrongIssuer: await otherIssuer.issueToken(username, options),
    notYetValid: await issuer.issueToken(username, { ...options, notBeforeIn: 3600 }),
    wrongClientId: await issuer.issueToken(username, {
      ...options,
      tokenUse: 'access',
      audience: 'some-other-client',
    }),
  };
}
