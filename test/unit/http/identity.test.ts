import { describe, expect, it } from 'vitest';
import { ForbiddenError, UnauthorizedError } from '#shared/http/errors.ts';
import {
  callerFromClaims,
  claimsFromEvent,
  DEFAULT_IDENTITY_OPTIONS,
  IdentityConfigError,
  identityOptionsFromEnv,
  parseGroupsClaim,
  requireAdmin,
} from '#shared/http/identity.ts';

describe('parseGroupsClaim', () => {
  it('reads a JSON array', () => {
    expect(parseGroupsClaim(['admins', 'teachers'])).toEqual(['admins', 'teachers']);
  });

  it("reads API Gateway's bracketed, space-separated rendering of an array", () => {
    expect(parseGroupsClaim('[admins teachers]')).toEqual(['admins', 'teachers']);
    expect(parseGroupsClaim('[admins]')).toEqual(['admins']);
    expect(parseGroupsClaim('[]')).toEqual([]);
  });

  it('reads a comma list and a single name', () => {
    expect(parseGroupsClaim('admins, teachers')).toEqual(['admins', 'teachers']);
    expect(parseGroupsClaim('teachers')).toEqual(['teachers']);
  });

  it('reads a JSON-quoted bracketed list and ignores non-strings', () => {
    expect(parseGroupsClaim('["admins","teachers"]')).toEqual(['admins', 'teachers']);
    expect(parseGroupsClaim(undefined)).toEqual([]);
    expect(parseGroupsClaim(42)).toEqual([]);
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
      { username: 'bob', 'cognito:groups': 'admins,teachers' },
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
    expect(callerFromClaims({ preferred_username: 'Carol', roles: ['lab-admins'] }, options)).toEqual({
      username: 'carol',
      roles: { admin: true, teacher: false },
    });
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
