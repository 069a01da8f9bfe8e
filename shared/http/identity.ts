import * as z from 'zod';
import {
  DEFAULT_REALM_SUFFIXES,
  tryNormalizeUsername,
  type UsernameNormalizationOptions,
} from '#shared/auth/usernames.ts';
import { ForbiddenError, UnauthorizedError } from '#shared/http/errors.ts';

/**
 * The caller of an API request, resolved from the JWT authorizer's claims. API Gateway has already
 * checked the token (signature, issuer, audience, expiry); roles are decided here because the
 * authorizer does not look at groups.
 */

/** Who is calling, and with which roles. */
export interface Caller {
  /** Normalized (see `normalizeUsername`). */
  readonly username: string;
  readonly roles: { readonly admin: boolean; readonly teacher: boolean };
}

/** How claims map to a caller. All names configurable, because any OIDC issuer may be used. */
export interface IdentityOptions extends UsernameNormalizationOptions {
  /** Claims tried in order for the username; the first non-empty one wins. */
  readonly usernameClaims: readonly string[];
  readonly groupsClaim: string;
  readonly adminGroup: string;
  readonly teacherGroup: string;
}

/** Defaults for a Cognito user pool: ID tokens carry `cognito:username`, access tokens `username`. */
export const DEFAULT_IDENTITY_OPTIONS: IdentityOptions = {
  usernameClaims: ['cognito:username', 'username'],
  groupsClaim: 'cognito:groups',
  adminGroup: 'admins',
  teacherGroup: 'teachers',
  realmSuffixes: DEFAULT_REALM_SUFFIXES,
};

/** Environment variables read by {@link identityOptionsFromEnv} (set by the ApiStack on each handler). */
export const IDENTITY_ENV = {
  usernameClaims: 'AUTH_USERNAME_CLAIMS',
  groupsClaim: 'AUTH_GROUPS_CLAIM',
  adminGroup: 'AUTH_ADMIN_GROUP',
  teacherGroup: 'AUTH_TEACHER_GROUP',
  realmSuffixes: 'AUTH_REALM_SUFFIXES',
} as const;

/** An identity setting in the environment is present but unusable. */
export class IdentityConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdentityConfigError';
  }
}

const commaList = (value: string): string[] =>
  value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');

/**
 * Reads identity options from an environment object (called once at module scope by the HTTP
 * adapter). Unset variables keep the Cognito defaults; a set but empty value fails fast naming it.
 * `AUTH_REALM_SUFFIXES` may be set to `-` to strip no suffix.
 */
export function identityOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): IdentityOptions {
  const read = (name: string): string | undefined => {
    const value = env[name];
    if (value === undefined) return undefined;
    if (value.trim() === '') throw new IdentityConfigError(`${name} is set but empty`);
    return value.trim();
  };
  const usernameClaims = read(IDENTITY_ENV.usernameClaims);
  const realmSuffixes = read(IDENTITY_ENV.realmSuffixes);
  return {
    usernameClaims:
      usernameClaims === undefined ? DEFAULT_IDENTITY_OPTIONS.usernameClaims : commaList(usernameClaims),
    groupsClaim: read(IDENTITY_ENV.groupsClaim) ?? DEFAULT_IDENTITY_OPTIONS.groupsClaim,
    adminGroup: read(IDENTITY_ENV.adminGroup) ?? DEFAULT_IDENTITY_OPTIONS.adminGroup,
    teacherGroup: read(IDENTITY_ENV.teacherGroup) ?? DEFAULT_IDENTITY_OPTIONS.teacherGroup,
    realmSuffixes:
      realmSuffixes === undefined
        ? DEFAULT_IDENTITY_OPTIONS.realmSuffixes
        : realmSuffixes === '-'
          ? []
          : commaList(realmSuffixes),
  };
}

const ClaimsSchema = z.record(z.string(), z.unknown());

/**
 * Parses a groups claim, keeping every name exactly as the identity provider spells it (case,
 * spaces, commas and brackets included). Accepted forms:
 * - an array of strings (the claim as the token carries it): each string is one group, verbatim;
 * - a JSON array rendered as a string (`'["lab admins","teachers"]'`): each string is one group;
 * - API Gateway's flattened rendering of an array (`"[admins teachers]"`): the text between the
 *   brackets split on spaces. This form cannot carry a name that contains a space (the authorizer
 *   joins with spaces), so such names only match from the token itself (see
 *   {@link groupsFromEvent}); commas and other characters stay inside their name;
 * - any other string: one group name, verbatim (no splitting on commas).
 * Empty names are dropped; nothing is lower-cased.
 */
export function parseGroupsClaim(value: unknown): string[] {
  if (Array.isArray(value)) {
    return value.filter((item): item is string => typeof item === 'string' && item !== '');
  }
  if (typeof value !== 'string' || value === '') return [];
  if (value.startsWith('[') && value.endsWith(']')) {
    if (/^\[\s*"/.test(value)) {
      try {
        const parsed: unknown = JSON.parse(value);
        if (Array.isArray(parsed)) return parseGroupsClaim(parsed);
      } catch {
        // Not JSON after all: read it as the flattened form below.
      }
    }
    return value
      .slice(1, -1)
      .split(' ')
      .filter((part) => part !== '');
  }
  return [value];
}

/** Claims a decoded bearer token must share with the authorizer's claims (see {@link groupsFromEvent}). */
const TOKEN_REQUIRED_CLAIMS = ['iss', 'sub', 'exp'] as const;
/** Claims that must be equal when either side has them. */
const TOKEN_OPTIONAL_CLAIMS = ['iat', 'jti'] as const;

/** Whether a decoded token payload is the token whose verified claims the authorizer passed on. */
function isVerifiedToken(
  payload: Readonly<Record<string, unknown>>,
  claims: Readonly<Record<string, unknown>>,
): boolean {
  const same = (name: string): boolean =>
    payload[name] !== undefined &&
    claims[name] !== undefined &&
    String(payload[name]) === String(claims[name]);
  return (
    TOKEN_REQUIRED_CLAIMS.every(same) &&
    TOKEN_OPTIONAL_CLAIMS.every(
      (name) => (payload[name] === undefined && claims[name] === undefined) || same(name),
    )
  );
}

/** The payload of a compact JWT, without checking its signature (`undefined` when it is not one). */
export function decodeJwtPayload(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  try {
    const parsed = ClaimsSchema.safeParse(JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The caller's groups, exactly. API Gateway's JWT authorizer flattens array claims into one string
 * (`"[lab admins]"`), which cannot tell a name with a space from two names; the exact array is in
 * the bearer token the authorizer has just verified. So: when the claims already hold an array, it
 * is used; otherwise the `Authorization` header's token is decoded (its signature was checked by the
 * authorizer) and used when its `iss`, `sub` and `exp` (and `iat`, `jti` when present) equal the
 * verified claims' — it is then the very token that was verified; otherwise the flattened string is parsed with
 * {@link parseGroupsClaim}.
 */
export function groupsFromEvent(
  event: unknown,
  claims: Readonly<Record<string, unknown>>,
  groupsClaim: string,
): string[] {
  const claimed = claims[groupsClaim];
  if (Array.isArray(claimed)) return parseGroupsClaim(claimed);
  const header = z.object({ headers: z.record(z.string(), z.string().optional()) }).safeParse(event);
  const authorization = header.success ? header.data.headers.authorization : undefined;
  if (authorization !== undefined) {
    const payload = decodeJwtPayload(authorization.trim().replace(/^Bearer\s+/i, ''));
    if (payload !== undefined && isVerifiedToken(payload, claims)) {
      const exact = payload[groupsClaim];
      return Array.isArray(exact) ? parseGroupsClaim(exact) : parseGroupsClaim(claimed);
    }
  }
  return parseGroupsClaim(claimed);
}

/** The claims API Gateway puts on a payload 2.0 event, or `undefined` when the route had no authorizer. */
export function claimsFromEvent(event: unknown): Record<string, unknown> | undefined {
  const parsed = z
    .object({
      requestContext: z.object({
        authorizer: z.object({ jwt: z.object({ claims: ClaimsSchema }) }).optional(),
      }),
    })
    .safeParse(event);
  return parsed.success ? parsed.data.requestContext.authorizer?.jwt.claims : undefined;
}

/**
 * Resolves the caller from JWT claims. Throws {@link UnauthorizedError} when no configured username
 * claim holds a usable username (the token was valid, but it names nobody we can serve). `groups`
 * (from {@link groupsFromEvent}) defaults to the parsed groups claim. Group names match the
 * configured admin and teacher group names exactly (case-sensitive, whole name).
 */
export function callerFromClaims(
  claims: Readonly<Record<string, unknown>>,
  options: IdentityOptions,
  groups: readonly string[] = parseGroupsClaim(claims[options.groupsClaim]),
): Caller {
  let username: string | null = null;
  for (const claim of options.usernameClaims) {
    const value = claims[claim];
    if (typeof value === 'string' && value.trim() !== '') {
      username = tryNormalizeUsername(value, options);
      break;
    }
  }
  if (username === null) throw new UnauthorizedError('The token names no usable user');
  const names = new Set(groups);
  return {
    username,
    roles: { admin: names.has(options.adminGroup), teacher: names.has(options.teacherGroup) },
  };
}

/** Throws {@link ForbiddenError} (403) unless the caller is an admin. */
export function requireAdmin(caller: Caller): void {
  if (!caller.roles.admin) throw new ForbiddenError('Admins only');
}
