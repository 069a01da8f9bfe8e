/**
 * Username normalization: the one rule that makes a JWT's username and a mappings.json key
 * (`"Alice@pve"`) name the same person. Pure; the realm suffixes come from configuration.
 */

/** Options of {@link normalizeUsername}. */
export interface UsernameNormalizationOptions {
  /** Realm suffixes stripped (case-insensitively) from the end, e.g. `['@pve', '@pam']`. */
  readonly realmSuffixes: readonly string[];
}

/** The default realm suffixes: Proxmox's built-in realms, as the original portal's usernames carry them. */
export const DEFAULT_REALM_SUFFIXES: readonly string[] = ['@pve', '@pam'];

/** Longest username kept after normalization (Cognito allows 128). */
export const MAX_USERNAME_LENGTH = 128;

/** The raw username is empty, too long or contains characters no identity provider issues. */
export class InvalidUsernameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidUsernameError';
  }
}

/**
 * What a normalized username may contain: letters and digits of any script, combining marks, and
 * `.` `_` `-` `@` `+`, starting with a letter or digit. Whitespace, control, format (zero-width)
 * and other invisible characters, slashes, quotes and brackets are refused.
 */
export const USERNAME_PATTERN = /^[\p{L}\p{N}][\p{L}\p{M}\p{N}._@+-]*$/u;

/**
 * Normalizes a username: Unicode NFC, trimmed, lower-cased, one configured realm suffix stripped.
 *
 * `normalizeUsername('Alice@PVE', { realmSuffixes: ['@pve'] })` → `'alice'`. Throws
 * {@link InvalidUsernameError} when the result is empty, longer than {@link MAX_USERNAME_LENGTH}
 * or does not match {@link USERNAME_PATTERN} (a name made only of zero-width characters, or holding
 * whitespace or slashes, could never be a real login and would make ambiguous keys).
 */
export function normalizeUsername(raw: string, options: UsernameNormalizationOptions): string {
  let name = raw.normalize('NFC').trim().toLowerCase();
  for (const suffix of options.realmSuffixes) {
    const lowered = suffix.normalize('NFC').toLowerCase();
    if (lowered !== '' && name.length > lowered.length && name.endsWith(lowered)) {
      name = name.slice(0, -lowered.length);
      break;
    }
  }
  if (name === '') throw new InvalidUsernameError('username is empty');
  if (name.length > MAX_USERNAME_LENGTH) {
    throw new InvalidUsernameError(`username is longer than ${MAX_USERNAME_LENGTH} characters`);
  }
  if (!USERNAME_PATTERN.test(name)) {
    throw new InvalidUsernameError(
      'username must start with a letter or digit and hold only letters, digits and . _ - @ + (no whitespace, invisible characters or slashes)',
    );
  }
  return name;
}

/** Like {@link normalizeUsername} but returns `null` instead of throwing. */
export function tryNormalizeUsername(raw: string, options: UsernameNormalizationOptions): string | null {
  try {
    return normalizeUsername(raw, options);
  } catch (error) {
    if (error instanceof InvalidUsernameError) return null;
    throw error;
  }
}
