import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '#infra/build-app.ts';

/** The network of the example clusters file's endpoints (they are host names): cdk.json sets the same. */
export const EXAMPLE_PROXMOX_CIDRS = ['10.20.0.0/24'];

/**
 * Synthesizes the whole app as `cdk synth` does (cdk-nag included), with bundling skipped so template
 * tests stay fast. `context` adds CDK context, e.g. `{ pveInventory: { ownershipRemovalPolicy: 'destroy' } }`;
 * `pveInventory.proxmoxCidrs` defaults to {@link EXAMPLE_PROXMOX_CIDRS} unless given (or set to null).
 */
export function synthApp(context: Record<string, unknown> = {}) {
  const given = (context.pveInventory ?? {}) as Record<string, unknown>;
  const pveInventory = Object.fromEntries(
    Object.entries({ proxmoxCidrs: EXAMPLE_PROXMOX_CIDRS, ...given }).filter(([, value]) => value !== null),
  );
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context, pveInventory } });
  const stacks = buildApp(app);
  return {
    app,
    stacks,
    /** The synthesized template of one of the app's stacks. */
    template: (stack: Stack) => Template.fromStack(stack),
  };
}
