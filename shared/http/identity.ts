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

/**
 * Parses a groups claim in any of the forms it arrives in: a JSON array (issuer-shaped claims),
 * API Gateway's rendering of an array (`"[admins teachers]"`), a comma list (`"admins,teachers"`)
 * or a single name. Blank entries are dropped.
 */
export function parseGroupsClaim(value: unknown): string[] {
  if (Array.isArray(value)) {
    return value.filter((item): item is string => typeof item === 'string').flatMap(parseGroupsClaim);
  }
  if (typeof value !== 'string') return [];
  let text = value.trim();
  if (text.startsWith('[') && text.endsWith(']')) {
    text = text.slice(1, -1);
    // A JSON-rendered array ('["a","b"]') is also seen from some proxies: strip its quotes.
    return text
      .split(/[\s,]+/)
      .map((part) => part.replace(/^"(.*)"$/, '$1').trim())
      .filter((part) => part !== '');
  }
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

const ClaimsSchema = z.record(z.string(), z.unknown());

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
 * claim holds a usable username (the token was valid, but it names nobody we can serve).
 */
export function callerFromClaims(
  claims: Readonly<Record<string, unknown>>,
  options: IdentityOptions,
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
  const groups = new Set(parseGroupsClaim(claims[options.groupsClaim]).map((group) => group.toLowerCase()));
  return {
    username,
    roles: {
      admin: groups.has(options.adminGroup.toLowerCase()),
      teacher: groups.has(options.teacherGroup.toLowerCase()),
    },
  };
}

/** Throws {@link ForbiddenError} (403) unless the caller is an admin. */
export function requireAdmin(caller: Caller): void {
  if (!caller.roles.admin) throw new ForbiddenError('Admins only');
}
