import { RemovalPolicy } from 'aws-cdk-lib';
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
import { Construct } from 'constructs';

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
  /** Create a Secrets Manager interface endpoint (skip when the VPC has its own egress). @default true */
  readonly secretsManagerEndpoint?: boolean;
  /** AZs the Secrets Manager endpoint spans (capped at the VPC's). @default 1 */
  readonly secretsManagerEndpointAzs?: number;
  /** TCP ports the sync functions may open outbound: the Proxmox API ports and the probe ports. */
  readonly proxmoxPorts: readonly number[];
}

/**
 * The network of the Proxmox-facing functions. A created VPC has private isolated subnets only (no
 * NAT: the operator connects it to the Proxmox network by VPN, peering or a transit gateway), flow
 * logs, a DynamoDB gateway endpoint and a Secrets Manager interface endpoint. An imported VPC uses
 * its own security group; it gets the DynamoDB gateway endpoint when its route table ids are given
 * (otherwise its own routing must reach DynamoDB) and the Secrets Manager endpoint (if wanted).
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
      for (const port of [...new Set(props.proxmoxPorts)].sort((a, b) => a - b)) {
        group.addEgressRule(Peer.anyIpv4(), Port.tcp(port), `Proxmox API or reachability probe port ${port}`);
      }
      // DynamoDB's gateway endpoint is reached at the service's public prefix list, whose id is
      // region-specific and only available by lookup; 443 is allowed to any address instead (the
      // subnets have no route to the internet, so this reaches only endpoints and the Proxmox network).
      group.addEgressRule(
        Peer.anyIpv4(),
        Port.tcp(443),
        'HTTPS to the DynamoDB and Secrets Manager endpoints',
      );
      this.securityGroup = group;
    }

    if (props.secretsManagerEndpoint ?? true) {
      const endpointGroup = new SecurityGroup(this, 'SecretsManagerEndpointSg', {
        vpc: this.vpc,
        description: 'Secrets Manager endpoint: HTTPS from the sync functions only',
        allowAllOutbound: false,
      });
      endpointGroup.addIngressRule(this.securityGroup, Port.tcp(443), 'HTTPS from the sync functions');
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
}
