import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadDeploymentConfig } from './config.ts';
import { DataStack } from './stacks/data-stack.ts';
import { SyncStack } from './stacks/sync-stack.ts';

/**
 * Composes the pve-inventory stacks on an app. Shared by `infra/app.ts` (cdk synth/deploy) and the
 * template tests, so both synthesize exactly the same thing.
 */
export function buildApp(app: App) {
  const config = loadDeploymentConfig(app);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

  const data = new DataStack(app, 'PveInventoryData', { config });
  const sync = new SyncStack(app, 'PveInventorySync', {
    config,
    inventoryTable: data.inventoryTable,
    syncStateTable: data.syncStateTable,
    ownershipTable: data.ownershipTable,
  });
  return { config, data, sync };
}
