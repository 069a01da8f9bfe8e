import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadDeploymentConfig } from './config.ts';
import { DataStack } from './stacks/data-stack.ts';

/**
 * Composes the pve-inventory stacks on an app. Shared by `infra/app.ts` (cdk synth/deploy) and the
 * template tests, so both synthesize exactly the same thing.
 */
export function buildApp(app: App) {
  const config = loadDeploymentConfig(app);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

  const data = new DataStack(app, 'PveInventoryData', { config });
  return { config, data };
}
