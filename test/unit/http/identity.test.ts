import { describe, expect, it } from 'vitest';
import { ForbiddenError, UnauthorizedError } from '#shared/http/errors.ts';
import {
  callerFromClaims,
  claimsFromEvent,
  DEFAULT_IDENTITY_OPTIONS,
  groupsFromEvent,
  IdentityConfigError,
  identityOptionsFromEnv,
  parseGroupsClaim,
  requireAdmin,
} from '#shared/http/identity.ts';

describe('parseGroupsClaim', () => {
  it('keeps each name of an array verbatim', () => {
    expect(parseGroupsClaim(['admins', 'Printer Admins', 'x,admins'])).toEqual([
      'admins',
      'Printer Admins',
      'x,admins',
    ]);
  });

  it("reads API Gateway's bracketed, space-separated rendering of an array", () => {
    expect(parseGroupsClaim('[admins teachers]')).toEqual(['admins', 'teachers']);
    expect(parseGroupsClaim('[admins]')).toEqual(['admins']);
    expect(parseGroupsClaim('[]')).toEqual([]);
  });

  it('never splits on commas and never changes case', () => {
    expect(parseGroupsClaim('[x,admins]')).toEqual(['x,admins']);
    expect(parseGroupsClaim('admins, teachers')).toEqual(['admins, teachers']);
    expect(parseGroupsClaim('[ADMINS]')).toEqual(['ADMINS']);
    expect(parseGroupsClaim('teachers')).toEqual(['teachers']);
  });

  it('reads a JSON-rendered array with names holding spaces, and ignores non-strings', () => {
    expect(parseGroupsClaim('["lab admins","teachers"]')).toEqual(['lab admins', 'teachers']);
    expect(parseGroupsClaim(undefined)).toEqual([]);
    expect(parseGroupsClaim(42)).toEqual([]);
  });
});

const tokenOf = (payload: Record<string, unknown>): string =>
  `e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;

describe('groupsFromEvent', () => {
  const payload = {
    iss: 'https://issuer',
    sub: 's-1',
    iat: 1700000000,
    exp: 1700003600,
    jti: 'j-1',
    'cognito:groups': ['lab admins', 'teachers'],
  };
  const flattened = {
    ...payload,
    iat: '1700000000',
    exp: '1700003600',
    'cognito:groups': '[lab admins teachers]',
  };

  it('reads the exact array from the verified bearer token', () => {
    const event = { headers: { authorization: `Bearer ${tokenOf(payload)}` } };
    expect(groupsFromEvent(event, flattened, 'cognito:groups')).toEqual(['lab admins', 'teachers']);
  });

  it('ignores a token that is not the one whose claims were verified', () => {
    const other = tokenOf({ ...payload, jti: 'j-2', 'cognito:groups': ['admins'] });
    const event = { headers: { authorization: `Bearer ${other}` } };
    expect(groupsFromEvent(event, flattened, 'cognito:groups')).toEqual(['lab', 'admins', 'teachers']);
    expect(groupsFromEvent({ headers: {} }, flattened, 'cognito:groups')).toEqual([
      'lab',
      'admins',
      'teachers',
    ]);
    expect(
      groupsFromEvent({ headers: { authorization: 'Bearer junk' } }, flattened, 'cognito:groups'),
    ).toEqual(['lab', 'admins', 'teachers']);
  });

  it('uses an array claim as it is', () => {
    expect(groupsFromEvent({}, { 'cognito:groups': ['Printer Admins'] }, 'cognito:groups')).toEqual([
      'Printer Admins',
    ]);
  });
});

describe('callerFromClaims', () => {
  it('resolves a Cognito ID token as API Gateway shapes it', () => {
    const caller = callerFromClaims(
      { 'cognito:username': 'Alice@pve', 'cognito:groups': '[teachers]', exp: '1700000000' },
      DEFAULT_IDENTITY_OPTIONS,
    );
    expect(caller).toEqual({ username: 'alice', roles: { admin: false, teacher: true } });
  });

  it('falls back to the access token username claim', () => {
    const caller = callerFromClaims(
      { username: 'bob', 'cognito:groups': '[admins teachers]' },
      DEFAULT_IDENTITY_OPTIONS,
    );
    expect(caller).toEqual({ username: 'bob', roles: { admin: true, teacher: true } });
  });

  it('uses configured claim and group names for other issuers', () => {
    const options = {
      ...DEFAULT_IDENTITY_OPTIONS,
      usernameClaims: ['preferred_username'],
      groupsClaim: 'roles',
      adminGroup: 'Lab-Admins',
    };
    expect(callerFromClaims({ preferred_username: 'Carol', roles: ['Lab-Admins'] }, options)).toEqual({
      username: 'carol',
      roles: { admin: true, teacher: false },
    });
  });

  it('matches group names exactly: look-alike groups give no role', () => {
    for (const groups of [
      '[Printer Admins]',
      '[x,admins]',
      '[ADMINS]',
      'admins,teachers',
      '[admins2]',
      ['lab admins'],
      ['Admins'],
      [' admins'],
    ]) {
      expect(
        callerFromClaims({ username: 'eve', 'cognito:groups': groups }, DEFAULT_IDENTITY_OPTIONS).roles,
      ).toEqual({ admin: false, teacher: false });
    }
    const spaced = { ...DEFAULT_IDENTITY_OPTIONS, adminGroup: 'lab admins' };
    expect(callerFromClaims({ username: 'eve', 'cognito:groups': ['lab admins'] }, spaced).roles.admin).toBe(
      true,
    );
    // The flattened form cannot carry a name with a space: only the exact array grants it.
    expect(callerFromClaims({ username: 'eve', 'cognito:groups': '[lab admins]' }, spaced).roles.admin).toBe(
      false,
    );
  });

  it('refuses claims naming no usable user with a 401', () => {
    expect(() => callerFromClaims({ sub: 'x' }, DEFAULT_IDENTITY_OPTIONS)).toThrow(UnauthorizedError);
    expect(() => callerFromClaims({ 'cognito:username': 'a b' }, DEFAULT_IDENTITY_OPTIONS)).toThrow(
      UnauthorizedError,
    );
  });
});

describe('claimsFromEvent', () => {
  it('reads requestContext.authorizer.jwt.claims and tolerates their absence', () => {
    expect(
      claimsFromEvent({ requestContext: { authorizer: { jwt: { claims: { a: '1' }, scopes: [] } } } }),
    ).toEqual({
      a: '1',
    });
    expect(claimsFromEvent({ requestContext: {} })).toBeUndefined();
    expect(claimsFromEvent(null)).toBeUndefined();
  });
});

describe('identityOptionsFromEnv', () => {
  it('keeps the Cognito defaults when nothing is set', () => {
    expect(identityOptionsFromEnv({})).toEqual(DEFAULT_IDENTITY_OPTIONS);
  });

  it('reads every setting, with "-" meaning no realm suffix', () => {
    expect(
      identityOptionsFromEnv({
        AUTH_USERNAME_CLAIMS: 'preferred_username, email',
        AUTH_GROUPS_CLAIM: 'groups',
        AUTH_ADMIN_GROUP: 'ops',
        AUTH_TEACHER_GROUP: 'staff',
        AUTH_REALM_SUFFIXES: '-',
      }),
    ).toEqual({
      usernameClaims: ['preferred_username', 'email'],
      groupsClaim: 'groups',
      adminGroup: 'ops',
      teacherGroup: 'staff',
      realmSuffixes: [],
    });
  });

  it('fails fast on a setting that is present but empty, naming it', () => {
    expect(() => identityOptionsFromEnv({ AUTH_GROUPS_CLAIM: ' ' })).toThrow(IdentityConfigError);
    expect(() => identityOptionsFromEnv({ AUTH_GROUPS_CLAIM: '' })).toThrow(/AUTH_GROUPS_CLAIM/);
  });
});

describe('requireAdmin', () => {
  it('lets admins through and refuses others with a 403', () => {
    expect(() => requireAdmin({ username: 'dave', roles: { admin: true, teacher: false } })).not.toThrow();
    expect(() => requireAdmin({ username: 'carol', roles: { admin: false, teacher: true } })).toThrow(
      ForbiddenError,
    );
  });
});
