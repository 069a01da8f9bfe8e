import { fileURLToPath } from 'node:url';
import { type App, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ACTION_WAIT_ENV } from '#shared/actions/action-timing.ts';
import { loadDeploymentConfig } from './config.ts';
import { readClustersForDeployment } from './constructs/sync-clusters-config.ts';
import { secretArnPatterns, tokenSecretKeyStatement } from './constructs/sync-functions.ts';
import { ApiStack } from './stacks/api-stack.ts';
import { DataStack } from './stacks/data-stack.ts';
import { PortalContentStack } from './stacks/portal-content-stack.ts';
import { PortalStack } from './stacks/portal-stack.ts';
import { SyncStack } from './stacks/sync-stack.ts';

/** The built portal (`npm run build:web`). */
const PORTAL_DIST_DIR = fileURLToPath(new URL('../web/dist', import.meta.url));

/**
 * Composes the pve-inventory stacks on an app. Shared by `infra/app.ts` (cdk synth/deploy) and the
 * template tests, so both synthesize exactly the same thing.
 */
export function buildApp(app: App) {
  const config = loadDeploymentConfig(app);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

  const data = new DataStack(app, 'PveInventoryData', { config });
  // Read once: the sync functions and the action handler (which calls Proxmox too) share it.
  const clusters = readClustersForDeployment(config.clustersFile);
  const sync = new SyncStack(app, 'PveInventorySync', {
    config,
    clusters,
    inventoryTable: data.inventoryTable,
    syncStateTable: data.syncStateTable,
    ownershipTable: data.ownershipTable,
  });
  const portal = config.portal.enabled ? new PortalStack(app, 'PveInventoryPortal', { config }) : undefined;
  const api = new ApiStack(app, 'PveInventoryApi', {
    config,
    portalOrigin: portal?.hosting.origin,
    inventoryTable: data.inventoryTable,
    syncStateTable: data.syncStateTable,
    ownershipTable: data.ownershipTable,
    auditTable: data.auditTable,
    liveTable: data.liveTable,
    network: {
      vpc: sync.network.vpc,
      subnets: sync.network.subnets,
      securityGroup: sync.network.securityGroup,
    },
    syncClusterFunction: sync.syncClusterFunction.function,
    syncStateMachines: { full: sync.fullSyncStateMachine, quick: sync.quickSyncStateMachine },
    alarmTopic: sync.monitoring.alarmTopic,
    // failed bulk and scheduled actions alert the admins on the sync stack's topic
    adminAlerts: sync.alerts,
    classSchedules: { environment: { CLUSTERS_CONFIG: clusters.environmentJson } },
    routeEnvironment: {
      vmAction: {
        CLUSTERS_CONFIG: clusters.environmentJson,
        [ACTION_WAIT_ENV]: String(config.actionWaitSeconds),
      },
      // the bulk route acts like the single one: the clusters, their worker limits
      bulkAction: { CLUSTERS_CONFIG: clusters.environmentJson },
      listVms: { CONFIGURED_CLUSTER_IDS: clusters.clusterIds.join(',') },
      // The trigger refuses a cluster id that is not configured, and answers per cluster.
      triggerSync: { CONFIGURED_CLUSTER_IDS: clusters.clusterIds.join(',') },
    },
  });
  // The action handlers resolve the clusters' API tokens the way the sync function does.
  const acting = [api.handlers.functions.vmAction, api.handlers.functions.bulkAction];
  if (api.classSchedules !== undefined) acting.push(api.classSchedules.function);
  for (const fn of acting) {
    if (clusters.secretRefs.length === 0) break;
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [...new Set(clusters.secretRefs.flatMap((ref) => secretArnPatterns(api, ref)))],
      }),
    );
    if (config.tokenSecretKmsKeyArn !== undefined) {
      fn.role.addToPrincipalPolicy(tokenSecretKeyStatement(api, config.tokenSecretKmsKeyArn));
    }
  }
  const portalContent =
    portal === undefined
      ? undefined
      : new PortalContentStack(app, 'PveInventoryPortalContent', {
          portal,
          distDir: PORTAL_DIST_DIR,
          runtimeConfig: {
            apiUrl: api.http.api.apiEndpoint,
            authority: api.auth.issuer,
            clientId: api.auth.userPoolClient?.userPoolClientId ?? api.auth.audience[0] ?? '',
            ...(api.live === undefined ? {} : { liveUrl: api.live.stage.url }),
          },
        });
  return { config, data, sync, api, portal, portalContent };
}
