import { Aws, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  FlowLogDestination,
  FlowLogTrafficType,
  GatewayVpcEndpointAwsService,
  InterfaceVpcEndpoint,
  InterfaceVpcEndpointAwsService,
  type ISecurityGroup,
  type IVpc,
  Peer,
  Port,
  SecurityGroup,
  type SubnetSelection,
  SubnetType,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { EgressRule } from './sync-egress.ts';

/** An existing VPC that reaches the Proxmox network (`DeploymentConfig.vpc`). */
export interface ImportedVpcSettings {
  readonly vpcId: string;
  readonly availabilityZones: string[];
  readonly privateSubnetIds: string[];
  readonly securityGroupId: string;
  /** Route tables of the private subnets (same order): a DynamoDB gateway endpoint is added to them. */
  readonly privateRouteTableIds?: string[];
}

/** Properties of {@link SyncVpcNetwork}. */
export interface SyncVpcNetworkProps {
  /** Import this VPC instead of creating one (never a lookup: synth stays offline). @default - a new VPC */
  readonly imported?: ImportedVpcSettings;
  /** AZs of the created VPC. @default 2 */
  readonly maxAzs?: number;
  /**
   * Create a Secrets Manager interface endpoint with private DNS (skip when the VPC has one
   * already, or its own egress). @default true for a created VPC, false for an imported one
   */
  readonly secretsManagerEndpoint?: boolean;
  /** AZs the Secrets Manager endpoint spans (capped at the VPC's). @default 1 */
  readonly secretsManagerEndpointAzs?: number;
  /**
   * Outbound rules to the Proxmox network (API and probe ports, see sync-egress.ts), applied to the
   * created security group; an imported group keeps the operator's rules.
   */
  readonly egress: readonly EgressRule[];
}

/**
 * The network of the Proxmox-facing functions. A created VPC has private isolated subnets only (no
 * NAT: the operator connects it to the Proxmox network by VPN, peering or a transit gateway), flow
 * logs, a DynamoDB gateway endpoint and a Secrets Manager interface endpoint; its security group
 * allows outbound only the given Proxmox rules and HTTPS to those two endpoints. An imported VPC
 * uses its own security group (its rules stay the operator's); it gets the DynamoDB gateway
 * endpoint when its route table ids are given (otherwise its own routing must reach DynamoDB) and
 * the Secrets Manager endpoint only when asked for (CloudFormation fails when the VPC has one with
 * private DNS already, or lacks DNS support).
 */
export class SyncVpcNetwork extends Construct {
  /** The VPC the Proxmox-facing functions run in. */
  public readonly vpc: IVpc;
  /** The subnets they run in. */
  public readonly subnets: SubnetSelection;
  /** Their security group (the imported one, or one allowing only Proxmox, probe and HTTPS egress). */
  public readonly securityGroup: ISecurityGroup;
  /** The Secrets Manager interface endpoint, when created. */
  public readonly secretsManagerEndpoint?: InterfaceVpcEndpoint;

  constructor(scope: Construct, id: string, props: SyncVpcNetworkProps) {
    super(scope, id);

    if (props.imported) {
      const imported = props.imported;
      this.vpc = Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: imported.vpcId,
        availabilityZones: imported.availabilityZones,
        isolatedSubnetIds: imported.privateSubnetIds,
        ...(imported.privateRouteTableIds
          ? { isolatedSubnetRouteTableIds: imported.privateRouteTableIds }
          : {}),
      });
      this.subnets = { subnets: this.vpc.isolatedSubnets };
      if (imported.privateRouteTableIds) {
        this.vpc.addGatewayEndpoint('DynamoDb', {
          service: GatewayVpcEndpointAwsService.DYNAMODB,
          subnets: [this.subnets],
        });
      }
      // The operator owns this group's rules: the stack must not rewrite them.
      this.securityGroup = SecurityGroup.fromSecurityGroupId(
        this,
        'SyncFunctions',
        imported.securityGroupId,
        {
          mutable: false,
        },
      );
    } else {
      const flowLogs = new LogGroup(this, 'FlowLogs', {
        retention: RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      const vpc = new Vpc(this, 'Vpc', {
        maxAzs: props.maxAzs ?? 2,
        natGateways: 0,
        subnetConfiguration: [{ name: 'sync', subnetType: SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
        flowLogs: {
          all: {
            destination: FlowLogDestination.toCloudWatchLogs(flowLogs),
            trafficType: FlowLogTrafficType.ALL,
          },
        },
      });
      vpc.addGatewayEndpoint('DynamoDb', {
        service: GatewayVpcEndpointAwsService.DYNAMODB,
        subnets: [{ subnetType: SubnetType.PRIVATE_ISOLATED }],
      });
      this.vpc = vpc;
      this.subnets = { subnetType: SubnetType.PRIVATE_ISOLATED };

      const group = new SecurityGroup(this, 'SyncFunctions', {
        vpc,
        description:
          'Proxmox-facing sync functions: Proxmox API, RDP/SSH probes and HTTPS to AWS endpoints only',
        allowAllOutbound: false,
      });
      for (const rule of props.egress) {
        const peer = rule.cidr.includes(':') ? Peer.ipv6(rule.cidr) : Peer.ipv4(rule.cidr);
        group.addEgressRule(peer, Port.tcp(rule.port), rule.description);
      }
      // HTTPS to DynamoDB goes through the gateway endpoint, whose destination is the service's
      // prefix list in this region: its id is read at deploy time (no lookup at synth).
      group.addEgressRule(
        Peer.prefixList(this.dynamoDbPrefixListId()),
        Port.tcp(443),
        'HTTPS to DynamoDB through the gateway endpoint',
      );
      this.securityGroup = group;
    }

    if (props.secretsManagerEndpoint ?? props.imported === undefined) {
      const endpointGroup = new SecurityGroup(this, 'SecretsManagerEndpointSg', {
        vpc: this.vpc,
        description: 'Secrets Manager endpoint: HTTPS from the sync functions only',
        allowAllOutbound: false,
      });
      endpointGroup.addIngressRule(this.securityGroup, Port.tcp(443), 'HTTPS from the sync functions');
      if (props.imported === undefined) {
        this.securityGroup.addEgressRule(
          endpointGroup,
          Port.tcp(443),
          'HTTPS to the Secrets Manager endpoint',
        );
      }
      this.secretsManagerEndpoint = new InterfaceVpcEndpoint(this, 'SecretsManager', {
        vpc: this.vpc,
        service: InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
        subnets: {
          subnets: this.vpc
            .selectSubnets({ ...this.subnets, onePerAz: true })
            .subnets.slice(0, props.secretsManagerEndpointAzs ?? 1),
        },
        securityGroups: [endpointGroup],
        open: false,
        privateDnsEnabled: true,
      });
    }
  }

  /** The id of this region's DynamoDB prefix list, read by one EC2 DescribePrefixLists call at deploy time. */
  private dynamoDbPrefixListId(): string {
    const lookup = new AwsCustomResource(this, 'DynamoDbPrefixList', {
      onUpdate: {
        service: 'EC2',
        action: 'DescribePrefixLists',
        parameters: {
          Filters: [{ Name: 'prefix-list-name', Values: [`com.amazonaws.${Aws.REGION}.dynamodb`] }],
        },
        physicalResourceId: PhysicalResourceId.of('dynamodb-prefix-list'),
        outputPaths: ['PrefixLists.0.PrefixListId'],
      },
      policy: AwsCustomResourcePolicy.fromSdkCalls({ resources: AwsCustomResourcePolicy.ANY_RESOURCE }),
      installLatestAwsSdk: false,
      logGroup: new LogGroup(this, 'DynamoDbPrefixListLogs', {
        retention: RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });
    Validations.of(lookup).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ec2:DescribePrefixLists supports no resource-level permissions; it only reads the public prefix list of DynamoDB.',
    });
    const provider = Stack.of(this).node.tryFindChild(
      `AWS${AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`,
    );
    if (provider !== undefined) {
      Validations.of(provider).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason:
          'The CDK-provided custom resource provider uses the AWS-maintained basic execution role (its own log group only in practice); it runs once per deployment.',
      });
      Validations.of(provider).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          'The runtime of the CDK-provided custom resource provider is chosen by aws-cdk-lib and follows its releases.',
      });
    }
    return lookup.getResponseField('PrefixLists.0.PrefixListId');
  }
}
