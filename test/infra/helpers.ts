import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '#infra/build-app.ts';

/**
 * Synthesizes the whole app as `cdk synth` does (cdk-nag included), with bundling skipped so template
 * tests stay fast. `context` adds CDK context, e.g. `{ pveInventory: { ownershipRemovalPolicy: 'destroy' } }`.
 */
export function synthApp(context: Record<string, unknown> = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stacks = buildApp(app);
  return {
    app,
    stacks,
    /** The synthesized template of one of the app's stacks. */
    template: (stack: Stack) => Template.fromStack(stack),
  };
}
