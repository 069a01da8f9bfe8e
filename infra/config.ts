import { isIP } from 'node:net';
import type { App } from 'aws-cdk-lib';
import * as z from 'zod';
import { DEFAULT_ACTION_WAIT_MS, MAX_ACTION_WAIT_MS } from '#shared/actions/action-timing.ts';
import type { SyncCadence } from '#shared/config/cadence.ts';

/** An IPv4 or IPv6 network in CIDR notation. */
const CidrSchema = z.string().refine(
  (value) => {
    const [address = '', prefix, ...rest] = value.split('/');
    const family = isIP(address);
    if (family === 0 || prefix === undefined || rest.length > 0 || !/^\d{1,3}$/.test(prefix)) return false;
    return Number(prefix) <= (family === 4 ? 32 : 128);
  },
  { message: 'must be a CIDR such as 10.20.0.0/24' },
);

/**
 * Deployment configuration, read from the CDK context key `pveInventory` (cdk.json, `-c`, or
 * `cdk.context.json`). Every setting is validated up front; an error names the setting.
 */
export const DeploymentConfigSchema = z
  .object({
    /** Path of the clusters JSON file (same format as the local stack's `--config`). */
    clustersFile: z.string().min(1).default('config/clusters.example.json'),
    /** Removal policy of the inventory and sync-state tables (rebuildable by a sync). */
    inventoryRemovalPolicy: z.enum(['retain', 'destroy']).default('destroy'),
    /** Removal policy of assignments and classes (cannot be rebuilt: retained by default). */
    ownershipRemovalPolicy: z.enum(['retain', 'destroy']).default('retain'),
    /** Full-sync period in minutes (the seed's tuning: 2–10). */
    fullSyncMinutes: z.number().int().min(2).max(10).default(5),
    /** Quick-sync interval in seconds; the Express machine runs 60/interval passes a minute. */
    quickSyncSeconds: z.union([z.literal(15), z.literal(20), z.literal(30)]).default(30),
    /**
     * Seconds after its arrival a power action answers 202 pending unless confirmed (the action
     * function's `ACTION_WAIT_SECONDS`). Capped well below the HTTP API's 30 s integration timeout.
     */
    actionWaitSeconds: z
      .number()
      .min(0)
      .max(MAX_ACTION_WAIT_MS / 1000)
      .default(DEFAULT_ACTION_WAIT_MS / 1000),
    /** Staleness cutoff in minutes: a VM not confirmed by a successful sync for this long is stale. */
    staleAfterMinutes: z.number().int().min(1).max(60).default(10),
    /** Map MaxConcurrency over clusters. */
    syncMaxConcurrency: z.number().int().min(1).max(40).default(10),
    /**
     * Reserved concurrency of the sync-cluster function. Default: derived from the Map concurrency
     * and the cluster count (2 × min(syncMaxConcurrency, clusters) + clusters). `false` reserves
     * nothing, for accounts whose concurrency quota cannot spare it (Lambda keeps 100 unreserved).
     */
    syncReservedConcurrency: z.union([z.number().int().min(1).max(1000), z.literal(false)]).optional(),
    /** Import an existing VPC that reaches the Proxmox network instead of creating one. */
    vpc: z
      .object({
        vpcId: z.string().regex(/^vpc-[0-9a-f]+$/),
        availabilityZones: z.array(z.string().min(1)).min(1),
        privateSubnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]+$/)).min(1),
        securityGroupId: z.string().regex(/^sg-[0-9a-f]+$/),
        /**
         * Route tables of those subnets, one per subnet in the same order: with them the stack adds a
         * DynamoDB gateway endpoint (free). Leave out when the VPC reaches DynamoDB another way.
         */
        privateRouteTableIds: z
          .array(z.string().regex(/^rtb-[0-9a-f]+$/))
          .min(1)
          .optional(),
        /**
         * Confirms that the VPC has DNS support and DNS host names enabled: needed before the stack
         * may create a Secrets Manager endpoint with private DNS in it.
         */
        dnsSupport: z.boolean().default(false),
      })
      .strict()
      .refine(
        (vpc) =>
          vpc.privateRouteTableIds === undefined ||
          vpc.privateRouteTableIds.length === vpc.privateSubnetIds.length,
        { message: 'privateRouteTableIds needs one route table id per private subnet id' },
      )
      .refine((vpc) => vpc.privateSubnetIds.length % vpc.availabilityZones.length === 0, {
        message:
          'privateSubnetIds must hold the same number of subnets in each of the availabilityZones, listed zone by zone',
      })
      .optional(),
    /** Number of AZs of the created VPC. */
    maxAzs: z.number().int().min(1).max(3).default(2),
    /**
     * Create a Secrets Manager interface endpoint with private DNS. Default: on for a created VPC,
     * off for an imported one (which may have one already, or reach the service another way).
     */
    secretsManagerEndpoint: z.boolean().optional(),
    /**
     * AZs the Secrets Manager endpoint spans (at most the VPC's). One AZ halves its fixed cost; the
     * sync functions in the other AZs reach it across AZs, and an outage of its AZ stops token
     * fetches there (tokens already cached in warm functions keep working).
     */
    secretsManagerEndpointAzs: z.number().int().min(1).max(3).default(1),
    /**
     * X-Ray traces of every quick-sync execution (Express state machine and its task functions).
     * Off, the sync functions trace only when their caller's trace is sampled (full sync, API refresh).
     */
    quickSyncTracing: z.boolean().default(false),
    /**
     * Networks of the Proxmox API endpoints: required when a cluster's endpoint is a host name
     * (endpoints given by IP address are allowed on their own). The sync may only open the API
     * ports to these and to those addresses.
     */
    proxmoxCidrs: z.array(CidrSchema).min(1).optional(),
    /** Networks of the guests probed on RDP/SSH. Default: the clusters' networks. */
    guestCidrs: z.array(CidrSchema).min(1).optional(),
    /** The customer-managed KMS key of the token secrets, if any: the functions that read them get kms:Decrypt on it. */
    tokenSecretKmsKeyArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/,
        'must be a KMS key ARN (arn:aws:kms:region:account:key/id)',
      )
      .optional(),
    /** Optional e-mail subscription to the alarm topic. */
    alarmEmail: z.email().optional(),
    /**
     * Admin alerts (cluster unsynced / healthy again, failed scheduled or bulk action): e-mail
     * addresses and HTTPS webhook URLs subscribed to the alert topic.
     */
    alerts: z
      .object({
        emails: z.array(z.email()).default([]),
        webhooks: z.array(z.url({ protocol: /^https$/ })).default([]),
      })
      .strict()
      .default({ emails: [], webhooks: [] }),
    /** External OIDC issuer instead of the stack's Cognito user pool. */
    oidc: z
      .object({ issuer: z.url(), audience: z.array(z.string().min(1)).min(1) })
      .strict()
      .optional(),
    /**
     * Extra CORS origins of the HTTP API (and Cognito callback origins), e.g. a developer's
     * `http://localhost:5173`. The deployed portal's origin is always allowed; nothing else by default.
     */
    corsOrigins: z.array(z.url()).default([]),
    /** The web portal (S3 + CloudFront). */
    portal: z
      .object({
        /** Deploy the portal. Without it the API allows only `corsOrigins`. */
        enabled: z.boolean().default(true),
        /** Cognito hosted-UI (managed login) domain prefix, e.g. `my-lab`: `https://my-lab.auth.<region>.amazoncognito.com`. */
        hostedUiDomainPrefix: z
          .string()
          .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'lower-case letters, digits and hyphens')
          .optional(),
      })
      .strict()
      .prefault({}),
    /** Days an audit trail entry is kept before DynamoDB's TTL removes it. */
    auditRetentionDays: z.number().int().min(1).max(3650).default(400),
    /** Claims and role names used by the handlers (group names match exactly, case-sensitively). */
    usernameClaim: z.string().min(1).default('cognito:username'),
    groupsClaim: z.string().min(1).default('cognito:groups'),
    adminGroup: z.string().min(1).default('admins'),
    teacherGroup: z.string().min(1).default('teachers'),
  })
  .strict()
  .superRefine((config, context) => {
    if (config.vpc !== undefined && config.secretsManagerEndpoint === true && !config.vpc.dnsSupport) {
      context.addIssue({
        code: 'custom',
        path: ['secretsManagerEndpoint'],
        message:
          'an endpoint with private DNS in an imported VPC needs DNS support and DNS host names there, and fails if the VPC has one already: check both, then confirm with vpc.dnsSupport: true (or leave the endpoint off and let the VPC reach Secrets Manager its own way)',
      });
    }
  });

export type DeploymentConfig = z.infer<typeof DeploymentConfigSchema>;

/** The sync cadence of a deployment: the one value every function that depends on it receives. */
export function deploymentCadence(config: DeploymentConfig): SyncCadence {
  return {
    fullIntervalMs: config.fullSyncMinutes * 60_000,
    quickIntervalMs: config.quickSyncSeconds * 1000,
    staleAfterMs: config.staleAfterMinutes * 60_000,
  };
}

/** Thrown when the deployment configuration is invalid; the message names each bad setting. */
export class DeploymentConfigError extends Error {
  override readonly name = 'DeploymentConfigError';
}

/** Parses deployment settings from a plain object (the `pveInventory` context value). */
export function parseDeploymentConfig(raw: unknown): DeploymentConfig {
  const parsed = DeploymentConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((issue) => {
      const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
      return `pveInventory.${path}: ${issue.message}`;
    });
    throw new DeploymentConfigError(`Invalid CDK context "pveInventory":\n  ${reasons.join('\n  ')}`);
  }
  return parsed.data;
}

/** Reads the `pveInventory` context of the app. */
export function loadDeploymentConfig(app: App): DeploymentConfig {
  return parseDeploymentConfig(app.node.tryGetContext('pveInventory'));
}
