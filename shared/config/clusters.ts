import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import * as z from 'zod';

/*
 * The cluster configuration file (contract 1): one format for the CDK deployment, the local stack
 * and the simulator's generated config. The token secret is only *referenced* here ({env}, {file},
 * {awsSecret}); its value is resolved separately (token-secret.ts) and never stored in this object.
 */

const CLUSTER_ID = /^[a-z0-9][a-z0-9-]{0,39}$/;
/** USER@REALM!TOKENID as PVE's access control accepts it. */
const TOKEN_ID = /^[^\s:/@!]+@[A-Za-z][A-Za-z0-9._-]+![A-Za-z][A-Za-z0-9._-]+$/;
const FINGERPRINT = /^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/;

/** One API endpoint (a node of the cluster), optionally pinned by its certificate's SHA-256. */
export const EndpointConfigSchema = z.strictObject({
  url: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }).refine((u) => {
    if (!URL.canParse(u)) return true;
    const p = new URL(u).pathname;
    return p === '/' || p === '';
  }, 'must be the origin only (e.g. https://pve1.example.org:8006), without a path'),
  fingerprint: z
    .string()
    .regex(FINGERPRINT, 'must be a SHA-256 fingerprint in colon hex (32 bytes, AB:CD:...)')
    .transform((f) => f.toUpperCase())
    .optional(),
  /** Informational: the node this endpoint belongs to. */
  node: z.string().min(1).optional(),
});
export type EndpointConfig = z.infer<typeof EndpointConfigSchema>;

/** Where the token secret comes from: exactly one of an environment variable, a file, a Secrets Manager secret. */
export const TokenSecretRefSchema = z
  .strictObject({
    env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
      .optional(),
    file: z.string().min(1).optional(),
    awsSecret: z.string().min(1).optional(),
  })
  .refine(
    (r) => [r.env, r.file, r.awsSecret].filter((v) => v !== undefined).length === 1,
    'must have exactly one of "env", "file" or "awsSecret"',
  );
export type TokenSecretRef = z.infer<typeof TokenSecretRefSchema>;

/** TLS verification: system CAs ({} or absent), a CA bundle (caFile | caPem), or insecure (explicit only). */
export const TlsConfigSchema = z
  .strictObject({
    caFile: z.string().min(1).optional(),
    caPem: z
      .string()
      .includes('-----BEGIN CERTIFICATE-----', { error: 'must be PEM certificates' })
      .optional(),
    insecure: z.boolean().optional(),
  })
  .refine(
    (t) => !(t.caFile !== undefined && t.caPem !== undefined),
    'set either "caFile" or "caPem", not both',
  )
  .refine(
    (t) => !(t.insecure === true && (t.caFile !== undefined || t.caPem !== undefined)),
    '"insecure" cannot be combined with a CA bundle',
  );
export type TlsConfig = z.infer<typeof TlsConfigSchema>;

/** One Proxmox VE cluster. */
export const ClusterConfigSchema = z.strictObject({
  id: z.string().regex(CLUSTER_ID, 'must match ^[a-z0-9][a-z0-9-]{0,39}$'),
  name: z.string().min(1).max(200),
  endpoints: z.array(EndpointConfigSchema).min(1, 'needs at least one endpoint'),
  tokenId: z.string().regex(TOKEN_ID, 'must be USER@REALM!TOKENID'),
  tokenSecret: TokenSecretRefSchema,
  tls: TlsConfigSchema.optional(),
  simulated: z.boolean().default(false),
  probePorts: z
    .strictObject({
      rdp: z.number().int().min(1).max(65535),
      ssh: z.number().int().min(1).max(65535),
    })
    .default({ rdp: 3389, ssh: 22 }),
  maxInFlightPerNode: z.number().int().min(1).max(32).default(3),
});
export type ClusterConfig = z.infer<typeof ClusterConfigSchema>;
/** The cluster configuration as written in the file (defaults not applied). */
export type ClusterConfigInput = z.input<typeof ClusterConfigSchema>;

/** The whole clusters file. Cluster ids are unique. */
export const ClustersFileSchema = z
  .strictObject({
    clusters: z.array(ClusterConfigSchema),
  })
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.clusters.forEach((c, i) => {
      if (seen.has(c.id))
        ctx.addIssue({ code: 'custom', path: ['clusters', i, 'id'], message: `duplicate id "${c.id}"` });
      seen.add(c.id);
    });
  });
export type ClustersFile = z.infer<typeof ClustersFileSchema>;

/** A clusters file that fails validation; the message names the file and the field path. */
export class ClusterConfigError extends Error {
  /** The file (or other source) that was parsed. */
  readonly source: string;
  /** Every problem found, as `path: message`. */
  readonly problems: string[];

  constructor(source: string, problems: string[], options?: { cause?: unknown }) {
    super(
      `${source}: ${problems[0] ?? 'invalid'}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`,
      options,
    );
    this.name = 'ClusterConfigError';
    this.source = source;
    this.problems = problems;
  }
}

/** Formats a zod issue path as `clusters[1].endpoints[0].url`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out === '' ? '(root)' : out;
}

/** Options of {@link parseClustersFile}. */
export interface ParseClustersOptions {
  /** Directory that relative `tls.caFile` / `tokenSecret.file` paths are resolved against. */
  baseDir?: string;
}

/**
 * Validates a parsed clusters JSON document. Throws {@link ClusterConfigError} naming `source` and
 * the bad field, e.g. `clusters.json: clusters[1].endpoints[0].url: must be an https:// URL`.
 * With `baseDir`, relative file paths in the result are made absolute.
 */
export function parseClustersFile(
  json: unknown,
  source: string,
  options: ParseClustersOptions = {},
): ClustersFile {
  const result = ClustersFileSchema.safeParse(json);
  if (!result.success) {
    throw new ClusterConfigError(
      source,
      result.error.issues.map((i) => `${formatIssuePath(i.path)}: ${i.message}`),
    );
  }
  const { baseDir } = options;
  if (baseDir === undefined) return result.data;
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  return {
    clusters: result.data.clusters.map((c) => ({
      ...c,
      tokenSecret: c.tokenSecret.file === undefined ? c.tokenSecret : { file: abs(c.tokenSecret.file) },
      ...(c.tls?.caFile === undefined ? {} : { tls: { ...c.tls, caFile: abs(c.tls.caFile) } }),
    })),
  };
}

/**
 * Reads and validates a clusters file. Relative `caFile`/`file` paths are resolved against the
 * file's directory. Throws {@link ClusterConfigError} for unreadable files, bad JSON and bad fields.
 */
export async function loadClustersFile(path: string): Promise<ClustersFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'error';
    throw new ClusterConfigError(path, [`cannot read the file (${code})`], { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ClusterConfigError(path, [
      `not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    ]);
  }
  return parseClustersFile(json, path, { baseDir: dirname(resolve(path)) });
}
