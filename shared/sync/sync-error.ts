import { truncateSyncError } from '#shared/domain/vm-record.ts';

/**
 * Turns any failure into the text kept in `sync_error` / `last_error`: secrets redacted, at most
 * 500 characters. The Proxmox client already scrubs its token from its errors; this is the second
 * line of defence for anything else (SDK errors, token-like strings echoed by a server).
 */

/** Patterns of credentials that must never reach the table or the logs. */
const SECRET_PATTERNS: readonly RegExp[] = [
  // PVEAPIToken=user@realm!id=secret or "PVEAPIToken user@realm!id=secret"
  /(PVEAPIToken[= ]\S+?[=:])[^\s,;"']+/gi,
  // Authorization / Cookie headers echoed back
  /((?:authorization|cookie|csrfpreventiontoken)["']?\s*[:=]\s*["']?)[^\s,;"']+/gi,
  // PVEAuthCookie tickets
  /(PVEAuthCookie=)[^\s,;"']+/gi,
  // UUID-shaped secrets (PVE token secrets are UUIDs)
  /()\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi,
];

/** Replaces known secret values and secret-shaped substrings with `***`. */
export function redactSecrets(text: string, knownSecrets: readonly string[] = []): string {
  let out = text;
  for (const secret of knownSecrets) {
    if (secret.length >= 4) out = out.split(secret).join('***');
  }
  for (const pattern of SECRET_PATTERNS) out = out.replace(pattern, '$1***');
  return out;
}

/** Message of any thrown value, with its error class for context. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const name = error.name && error.name !== 'Error' ? `${error.name}: ` : '';
    return `${name}${error.message}`;
  }
  return String(error);
}

/** The stored error text of a failure: described, redacted, single-line, truncated to 500 characters. */
export function toSyncError(error: unknown, knownSecrets: readonly string[] = []): string {
  const text = redactSecrets(describeError(error), knownSecrets).replace(/\s+/g, ' ').trim();
  return truncateSyncError(text === '' ? 'unknown error' : text);
}
