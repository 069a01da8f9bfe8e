import { vmKeyString } from '#shared/api/visibility.ts';
import {
  normalizeUsername,
  tryNormalizeUsername,
  type UsernameNormalizationOptions,
} from '#shared/auth/usernames.ts';
import type { VmKey } from '#shared/domain/vm-record.ts';
import type { ErrorDetail } from '#shared/http/errors.ts';
import type { ImportMappingsBody } from '#shared/http/schemas/ownership.ts';
import { formatField } from '#shared/http/validation.ts';

/**
 * The original portal's mappings.json (`{"alice@pve": [101, "lab-b:102"]}`), pure. Bare VMIDs are
 * accepted only when the import names their cluster; "cluster:vmid" strings name their own.
 * Nothing is ever guessed across clusters: a bare VMID without a cluster is refused, with the
 * clusters it exists on as the reason. The whole file is refused when any entry is bad.
 */

/** One entry of the file, usernames normalized. */
export interface MappingEntry {
  /** where it is in the body, e.g. `body["alice@pve"][1]` */
  readonly field: string;
  readonly username: string;
  /** null for a bare VMID imported without a cluster */
  readonly cluster_id: string | null;
  readonly vmid: number;
}

/** The entries of a file, and what is wrong with it before looking at the inventory. */
export interface ParsedMappings {
  readonly entries: MappingEntry[];
  readonly problems: ErrorDetail[];
}

/** Options of {@link parseMappings}. */
export interface ParseMappingsOptions {
  /** the cluster bare VMIDs belong to (`?cluster=`) */
  readonly cluster?: string | undefined;
  /** every cluster the inventory knows */
  readonly knownClusters: readonly string[];
  readonly usernames: UsernameNormalizationOptions;
}

/** Most problems listed in one refusal (the rest are counted). */
export const MAX_LISTED_PROBLEMS = 200;

/** Limits of one import (see `MAPPINGS_IMPORT_LIMITS`). */
export interface ImportSizeLimits {
  readonly maxUsers: number;
  readonly maxEntries: number;
}

/** Why a file is too large to import at once (users or entries over the limit), or null. */
export function importSizeProblem(body: ImportMappingsBody, limits: ImportSizeLimits): string | null {
  let users = 0;
  let entries = 0;
  for (const [, list] of body) {
    users += 1;
    entries += list.length;
  }
  if (users > limits.maxUsers) {
    return `${users} users, more than the ${limits.maxUsers} one import accepts (split the file)`;
  }
  if (entries > limits.maxEntries) {
    return `${entries} entries, more than the ${limits.maxEntries} one import accepts (split the file)`;
  }
  return null;
}

/** Splits a file into entries, checking usernames and cluster names. */
export function parseMappings(body: ImportMappingsBody, options: ParseMappingsOptions): ParsedMappings {
  const known = new Set(options.knownClusters);
  const problems: ErrorDetail[] = [];
  const entries: MappingEntry[] = [];
  if (options.cluster !== undefined && !known.has(options.cluster)) {
    problems.push({ field: 'query.cluster', message: `unknown cluster "${options.cluster}"` });
  }
  for (const [rawUser, list] of body) {
    const username = tryNormalizeUsername(rawUser, options.usernames);
    if (username === null) {
      problems.push({
        field: formatField('body', [rawUser]),
        message: invalidUsernameReason(rawUser, options),
      });
      continue;
    }
    list.forEach((entry, index) => {
      const field = formatField('body', [rawUser, index]);
      if (typeof entry === 'number') {
        entries.push({ field, username, cluster_id: options.cluster ?? null, vmid: entry });
        return;
      }
      const separator = entry.lastIndexOf(':');
      const clusterId = entry.slice(0, separator);
      const vmid = Number(entry.slice(separator + 1));
      if (!known.has(clusterId)) {
        problems.push({ field, message: `unknown cluster "${clusterId}" in "${entry}"` });
        return;
      }
      if (!Number.isInteger(vmid) || vmid < 100) {
        problems.push({ field, message: `"${entry}" does not name a VMID (100 … 999999999)` });
        return;
      }
      entries.push({ field, username, cluster_id: clusterId, vmid });
    });
  }
  return { entries, problems };
}

function invalidUsernameReason(raw: string, options: ParseMappingsOptions): string {
  try {
    normalizeUsername(raw, options.usernames);
    return 'invalid username';
  } catch (error) {
    return error instanceof Error ? error.message : 'invalid username';
  }
}

/** The keys to look up in the inventory: each named VM, and each bare VMID on every known cluster. */
export function keysToCheck(entries: readonly MappingEntry[], knownClusters: readonly string[]): VmKey[] {
  const keys = new Map<string, VmKey>();
  for (const entry of entries) {
    const clusters = entry.cluster_id === null ? knownClusters : [entry.cluster_id];
    for (const cluster_id of clusters) {
      const key = { cluster_id, vmid: entry.vmid };
      keys.set(vmKeyString(key), key);
    }
  }
  return [...keys.values()];
}

/** A user ↔ VM pair the import assigns. */
export interface MappingTarget extends VmKey {
  readonly username: string;
}

/** What {@link resolveMappings} decided. */
export interface ResolvedMappings {
  readonly targets: MappingTarget[];
  readonly problems: ErrorDetail[];
  /** users named by the file (normalized, deduplicated) */
  readonly users: string[];
}

/**
 * Resolves entries against the VMs that exist: unknown VMs are refused; a bare VMID without a
 * cluster is refused as ambiguous (present on several clusters), unnamed (present on one: still
 * never guessed) or unknown (present on none). Duplicate pairs collapse into one.
 */
export function resolveMappings(
  entries: readonly MappingEntry[],
  existing: ReadonlySet<string>,
  knownClusters: readonly string[],
): ResolvedMappings {
  const problems: ErrorDetail[] = [];
  const targets = new Map<string, MappingTarget>();
  const users = new Set<string>();
  for (const entry of entries) {
    users.add(entry.username);
    if (entry.cluster_id === null) {
      const candidates = knownClusters.filter((cluster_id) =>
        existing.has(vmKeyString({ cluster_id, vmid: entry.vmid })),
      );
      const hint = `name the cluster with ?cluster= or write "cluster:${entry.vmid}"`;
      const message =
        candidates.length > 1
          ? `ambiguous VMID ${entry.vmid}: it exists on clusters ${candidates.join(', ')}; ${hint}`
          : candidates.length === 1
            ? `bare VMID ${entry.vmid} without a cluster (it exists on ${candidates[0]}, but clusters are never guessed); ${hint}`
            : `unknown VMID ${entry.vmid}: it exists on no cluster`;
      problems.push({ field: entry.field, message });
      continue;
    }
    const key = { cluster_id: entry.cluster_id, vmid: entry.vmid };
    if (!existing.has(vmKeyString(key))) {
      problems.push({
        field: entry.field,
        message: `unknown VM ${entry.cluster_id}:${entry.vmid}: not in the inventory`,
      });
      continue;
    }
    targets.set(`${entry.username}#${vmKeyString(key)}`, { username: entry.username, ...key });
  }
  return { targets: [...targets.values()], problems, users: [...users].sort() };
}

/** Caps a problem list for the error answer, counting what was left out. */
export function capProblems(problems: readonly ErrorDetail[]): ErrorDetail[] {
  if (problems.length <= MAX_LISTED_PROBLEMS) return [...problems];
  return [
    ...problems.slice(0, MAX_LISTED_PROBLEMS),
    { field: 'body', message: `${problems.length - MAX_LISTED_PROBLEMS} more problems not listed` },
  ];
}
