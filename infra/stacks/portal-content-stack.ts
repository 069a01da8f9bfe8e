import { Fn, Stack, type StackProps } from 'aws-cdk-lib';
import { Distribution } from 'aws-cdk-lib/aws-cloudfront';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { PortalContent, type PortalContentProps } from '../constructs/portal-content.ts';
import type { PortalStack } from './portal-stack.ts';

/** Properties of {@link PortalContentStack}. */
export interface PortalContentStackProps extends StackProps {
  readonly portal: PortalStack;
  readonly distDir: string;
  readonly runtimeConfig: PortalContentProps['runtimeConfig'];
}

/** The portal's files and its runtime config (API URL, issuer, client id), deployed after the API. */
export class PortalContentStack extends Stack {
  public readonly content: PortalContent;

  constructor(scope: Construct, id: string, props: PortalContentStackProps) {
    super(scope, id, props);
    const names = props.portal.exportNames;
    this.addDependency(props.portal);
    this.content = new PortalContent(this, 'Content', {
      bucket: Bucket.fromBucketArn(this, 'Bucket', Fn.importValue(names.bucketArn)),
      distribution: Distribution.fromDistributionAttributes(this, 'Distribution', {
        distributionId: Fn.importValue(names.distributionId),
        domainName: Fn.importValue(names.distributionDomainName),
      }),
      distDir: props.distDir,
      runtimeConfig: props.runtimeConfig,
      bucketExportName: names.bucketArn,
    });
  }
}
