import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Stack, Validations } from 'aws-cdk-lib';
import type { IDistribution } from 'aws-cdk-lib/aws-cloudfront';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';

/** Properties of {@link PortalContent}. */
export interface PortalContentProps {
  readonly bucket: IBucket;
  readonly distribution: IDistribution;
  /** Folder of the built portal (`npm run build:web`). */
  readonly distDir: string;
  /** The runtime config written as `/config.json` at deploy time (values may be deploy-time tokens). */
  readonly runtimeConfig: {
    readonly apiUrl: string;
    readonly authority: string;
    readonly clientId: string;
    /** The live updates' WebSocket stage URL (`wss://…/prod`), when they are deployed. */
    readonly liveUrl?: string;
  };
  /** Export name the bucket ARN is imported from (how cdk-nag names the provider's bucket permission). */
  readonly bucketExportName: string;
}

/** The portal was not built before synthesis. */
export class PortalNotBuiltError extends Error {
  override readonly name = 'PortalNotBuiltError';
}

/**
 * Puts the built portal into its bucket: the hashed `assets/` cached for a year, `index.html` and
 * the runtime `config.json` (API URL, issuer, client id, live URL, resolved at deploy time, never baked into
 * the bundle) revalidated on every load and invalidated in CloudFront on each deploy. Two
 * deployments without pruning, so neither deletes the other's files.
 */
export class PortalContent extends Construct {
  constructor(scope: Construct, id: string, props: PortalContentProps) {
    super(scope, id);
    if (!existsSync(join(props.distDir, 'index.html'))) {
      throw new PortalNotBuiltError(
        `${props.distDir}/index.html is missing: run \`npm run build:web\` first`,
      );
    }
    new BucketDeployment(this, 'Assets', {
      destinationBucket: props.bucket,
      sources: [Source.asset(props.distDir, { exclude: ['index.html', 'config.json'] })],
      cacheControl: [CacheControl.fromString('public, max-age=31536000, immutable')],
      prune: false,
    });
    new BucketDeployment(this, 'EntryAndConfig', {
      destinationBucket: props.bucket,
      sources: [
        Source.asset(props.distDir, { exclude: ['assets', 'assets/**'] }),
        Source.jsonData('config.json', props.runtimeConfig),
      ],
      cacheControl: [CacheControl.fromString('no-cache')],
      prune: false,
      distribution: props.distribution,
      distributionPaths: ['/index.html', '/config.json'],
    });
    // The deployments run through CDK's own provider function (one per stack, not ours to shape).
    const providers = Stack.of(this).node.children.filter((child) =>
      child.node.id.startsWith('Custom::CDKBucketDeployment'),
    );
    const copies = 'CDK BucketDeployment provider: copies the asset objects into the portal bucket';
    const acknowledgements: [string, string][] = [
      [
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        'CDK BucketDeployment provider: the AWS managed basic execution policy only lets it write its logs.',
      ],
      ['AwsSolutions-L1', 'CDK BucketDeployment provider: its runtime is chosen by aws-cdk-lib.'],
      ...['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*'].map(
        (action): [string, string] => [
          `AwsSolutions-IAM5[Action::${action}]`,
          `${copies} (grantRead/grantReadWrite action groups).`,
        ],
      ),
      [
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]',
        `${copies}: it reads the staged asset zip from the CDK assets bucket.`,
      ],
      [
        `AwsSolutions-IAM5[Resource::${props.bucketExportName}/*]`,
        `${copies}: every object of the portal bucket.`,
      ],
      [
        'AwsSolutions-IAM5[Resource::*]',
        'CDK BucketDeployment provider: cloudfront:CreateInvalidation/GetInvalidation support no resource-level scoping.',
      ],
    ];
    for (const [ruleId, reason] of acknowledgements) {
      for (const provider of providers) Validations.of(provider).acknowledge({ id: ruleId, reason });
    }
  }
}
