import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { DeploymentConfig } from '../config.ts';
import { PortalHosting } from '../constructs/portal-hosting.ts';

/** Properties of {@link PortalStack}. */
export interface PortalStackProps extends StackProps {
  readonly config: DeploymentConfig;
}

/**
 * Where the portal is served: bucket and distribution in one stack (origin access control ties
 * them together). Created before the API, whose CORS and Cognito callback URLs name its origin;
 * the files and the runtime config are deployed by {@link PortalContentStack} after the API.
 */
export class PortalStack extends Stack {
  public readonly hosting: PortalHosting;
  /** Names of the exports {@link PortalContentStack} imports. */
  public readonly exportNames: { bucketArn: string; distributionId: string; distributionDomainName: string };

  constructor(scope: Construct, id: string, props: PortalStackProps) {
    super(scope, id, props);
    const { config } = props;
    const region = this.region;
    const connectOrigins = [
      `https://*.execute-api.${region}.amazonaws.com`,
      // The live updates' WebSocket stage (its id is known only after the API stack).
      `wss://*.execute-api.${region}.amazonaws.com`,
      ...(config.oidc
        ? [new URL(config.oidc.issuer).origin]
        : [`https://cognito-idp.${region}.amazonaws.com`]),
      ...(config.portal.hostedUiDomainPrefix === undefined || config.oidc
        ? []
        : [`https://${config.portal.hostedUiDomainPrefix}.auth.${region}.amazoncognito.com`]),
    ];
    this.hosting = new PortalHosting(this, 'Hosting', { connectOrigins });
    new CfnOutput(this, 'PortalUrl', { value: `${this.hosting.origin}/`, description: 'The web portal' });
    // Named exports: the content stack imports these by name (stable names keep its cdk-nag findings stable).
    this.exportNames = {
      bucketArn: `${this.stackName}-BucketArn`,
      distributionId: `${this.stackName}-DistributionId`,
      distributionDomainName: `${this.stackName}-DistributionDomainName`,
    };
    new CfnOutput(this, 'BucketArn', {
      value: this.hosting.bucket.bucketArn,
      exportName: this.exportNames.bucketArn,
    });
    new CfnOutput(this, 'DistributionId', {
      value: this.hosting.distribution.distributionId,
      exportName: this.exportNames.distributionId,
    });
    new CfnOutput(this, 'DistributionDomainName', {
      value: this.hosting.distribution.distributionDomainName,
      exportName: this.exportNames.distributionDomainName,
    });
  }
}
