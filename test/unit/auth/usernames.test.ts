import { describe, expect, it } from 'vitest';
import {
  DEFAULT_REALM_SUFFIXES,
  InvalidUsernameError,
  normalizeUsername,
  tryNormalizeUsername,
  USERNAME_PATTERN,
} from '#shared/auth/usernames.ts';

const options = { realmSuffixes: DEFAULT_REALM_SUFFIXES };

describe('normalizeUsername', () => {
  it('lower-cases, trims and strips a configured realm suffix', () => {
    expect(normalizeUsername('  Alice@PVE ', options)).toBe('alice');
    expect(normalizeUsername('bob@pam', options)).toBe('bob');
    expect(normalizeUsername('Carol', options)).toBe('carol');
  });

  it('keeps suffixes that are not configured (an e-mail address stays whole)', () => {
    expect(normalizeUsername('Dave@Example.org', options)).toBe('dave@example.org');
    expect(normalizeUsername('erin@ldap', options)).toBe('erin@ldap');
    expect(normalizeUsername('erin@ldap', { realmSuffixes: ['@LDAP'] })).toBe('erin');
  });

  it('strips only one suffix and never the whole name', () => {
    expect(normalizeUsername('x@pve@pam', options)).toBe('x@pve');
    expect(normalizeUsername('a@pve', options)).toBe('a');
    expect(() => normalizeUsername('@pve', options)).toThrow(InvalidUsernameError);
  });

  it('refuses empty, overlong and whitespace or slash-containing names', () => {
    expect(() => normalizeUsername('   ', options)).toThrow(InvalidUsernameError);
    expect(() => normalizeUsername('a'.repeat(129), options)).toThrow(InvalidUsernameError);
    expect(() => normalizeUsername('a b', options)).toThrow(InvalidUsernameError);
    expect(() => normalizeUsername('a/b', options)).toThrow(InvalidUsernameError);
    expect(tryNormalizeUsername('a\tb', options)).toBeNull();
  });

  it('applies Unicode NFC, so composed and decomposed spellings are one user', () => {
    expect(normalizeUsername('Jose\u0301', options)).toBe('jos\u00e9');
    expect(normalizeUsername('jos\u00e9', options)).toBe('jos\u00e9');
  });

  it('refuses names made of invisible characters or holding them', () => {
    for (const raw of [
      '\u200b',
      '\u200b\u200c\u2060',
      '\ufeff',
      'al\u200bice',
      '\u00ad',
      'a\u202eb',
      '"x"',
      'a<b>',
    ]) {
      expect(tryNormalizeUsername(raw, options), JSON.stringify(raw)).toBeNull();
    }
    expect(USERNAME_PATTERN.test('first.last+lab@example.org')).toBe(true);
  });
});
