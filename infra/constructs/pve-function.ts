import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { TABLE_DESIGNS, type TableDesign } from '#shared/store/table-design.ts';

/** Repository root: entries, the lock file and the `imports` aliases are resolved from here. */
const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * ESM bundles have no `require`; some dependencies (the AWS SDK's CommonJS parts) still call it.
 * The banner gives the bundle a real one.
 */
const CREATE_REQUIRE_BANNER =
  "import { createRequire as pveCreateRequire } from 'node:module'; const require = pveCreateRequire(import.meta.url);";

/** Properties of {@link PveFunction}. */
export interface PveFunctionProps {
  /** Handler module, relative to the repository root, e.g. `functions/sync/sync-cluster.ts` (export `handler`). */
  readonly entry: string;
  /** Powertools service name (`POWERTOOLS_SERVICE_NAME`): the `service` dimension of its metrics. */
  readonly serviceName: string;
  /** What the function does (shown in the console). */
  readonly description: string;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** Extra environment variables (never secrets: they are visible in the console). */
  readonly environment?: Readonly<Record<string, string>>;
  /** Run in this VPC (only for functions that must reach the Proxmox network). @default - outside any VPC */
  readonly vpc?: IVpc;
  /** Subnets in the VPC. @default - the VPC's private subnets */
  readonly vpcSubnets?: SubnetSelection;
  /** Security groups in the VPC (required with `vpc`). */
  readonly securityGroups?: ISecurityGroup[];
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** X-Ray tracing mode. @default Tracing.ACTIVE */
  readonly tracing?: Tracing;
  /** Reserved concurrency. @default - unreserved */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * The project's Lambda function: every default in one place (contract 4). Node.js 22 on arm64, an
 * ESM bundle with source maps, active tracing, its own log group with retention and its own role
 * that starts with nothing but writing to that log group; tables are granted with {@link bindTable}.
 */
export class PveFunction extends Construct {
  /** The underlying function. */
  public readonly function: NodejsFunction;
  /** Its execution role (only this function uses it). */
  public readonly role: Role;
  /** Its log group. */
  public readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: PveFunctionProps) {
    super(scope, id);
    if (props.vpc && (props.securityGroups ?? []).length === 0) {
      throw new MissingSecurityGroupError(
        `${this.node.path}: a function in a VPC needs an explicit security group`,
      );
    }

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An own role instead of the default one: the default attaches AWSLambdaBasicExecutionRole,
    // which may write to every log group of the account.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${this.node.path}`,
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    if (props.vpc) {
      this.role.addManagedPolicy(
        ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'),
      );
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason:
          'Lambda validates the ENI permissions of a VPC function at deploy time; the EC2 Describe* actions have no resource-level scoping, so the AWS-maintained VPC access policy is the least-privilege option.',
      });
    }

    this.function = new NodejsFunction(this, 'Function', {
      entry: `${projectRoot}${props.entry}`,
      handler: 'handler',
      projectRoot,
      depsLockFilePath: `${projectRoot}package-lock.json`,
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: props.tracing ?? Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      vpc: props.vpc,
      vpcSubnets: props.vpc ? props.vpcSubnets : undefined,
      securityGroups: props.securityGroups,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        // The Node.js 22 runtime ships the AWS SDK v3: leaving it out keeps each bundle about a
        // third of its size (smaller deployments, faster cold starts). Only stable SDK APIs are used.
        externalModules: ['@aws-sdk/*'],
        banner: CREATE_REQUIRE_BANNER,
      },
    });

    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        "Node.js 22 is the runtime fixed for the project: the code, its tests, the local stack and CI all run on Node 22 (the project's floor), supported by Lambda until 2027.",
    });
    // Active tracing adds xray:PutTraceSegments/PutTelemetryRecords, which have no resource-level permissions.
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions (active tracing).',
    });
  }

  /**
   * Grants the function item actions on a table and sets the table's environment variable
   * (`INVENTORY_TABLE`, `SYNC_STATE_TABLE`, `OWNERSHIP_TABLE`) to its name. `access` names the
   * actions the function's code calls and the GSIs it queries (Query on each, by name: no
   * wildcard), or is a shorthand: `read` (GetItem, BatchGetItem, Query, Query on every index) or
   * `readWrite` (those plus PutItem, UpdateItem, DeleteItem, BatchWriteItem). A Scan is only ever
   * granted by name. The table's design (shared/store/table-design.ts) is found by its construct
   * id (`VmInventory`, `SyncState`, `Ownership`) unless given.
   */
  bindTable(table: ITableV2, access: TableAccess, design: TableDesign = tableDesignOf(table)): this {
    const grant = resolveTableGrant(access, design);
    if (grant.actions.length > 0) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: grant.actions.map((action) => `dynamodb:${action}`),
          resources: [table.tableArn],
        }),
      );
    }
    if (grant.queriedIndexes.length > 0) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['dynamodb:Query'],
          resources: grant.queriedIndexes.map((index) => `${table.tableArn}/index/${index}`),
        }),
      );
    }
    this.function.addEnvironment(design.envVar, table.tableName);
    return this;
  }
}

/** The DynamoDB item actions a function can be granted (no streams, no table management). */
export const DYNAMODB_ITEM_ACTIONS = [
  'BatchGetItem',
  'BatchWriteItem',
  'ConditionCheckItem',
  'DeleteItem',
  'GetItem',
  'PutItem',
  'Query',
  'Scan',
  'UpdateItem',
] as const;

/** One DynamoDB item action, without the `dynamodb:` prefix. */
export type DynamoDbAction = (typeof DYNAMODB_ITEM_ACTIONS)[number];

/** The exact access of a function to one table. */
export interface TableGrant {
  /** Item actions on the table itself (a transaction needs the actions it contains); may be empty when only indexes are queried. */
  readonly actions: readonly DynamoDbAction[];
  /** GSIs the code queries: each gets Query, by name. @default - none */
  readonly queriedIndexes?: readonly string[];
}

/** What a function may do on a table: its exact grant, or a shorthand (never a Scan). */
export type TableAccess = 'read' | 'readWrite' | TableGrant;

/** Item reads of the `read` shorthand. A Scan is never implied: a function calling one names it. */
export const TABLE_READ_ACTIONS = [
  'BatchGetItem',
  'GetItem',
  'Query',
] as const satisfies readonly DynamoDbAction[];

/** Item writes the `readWrite` shorthand adds. */
export const TABLE_WRITE_ACTIONS = [
  'BatchWriteItem',
  'DeleteItem',
  'PutItem',
  'UpdateItem',
] as const satisfies readonly DynamoDbAction[];

/** A grant with sorted, de-duplicated actions and indexes; shorthands may query every index. */
export function resolveTableGrant(
  access: TableAccess,
  design: TableDesign,
): { actions: DynamoDbAction[]; queriedIndexes: string[] } {
  const all = design.globalSecondaryIndexes.map((index) => index.indexName);
  const grant: TableGrant =
    access === 'read'
      ? { actions: TABLE_READ_ACTIONS, queriedIndexes: all }
      : access === 'readWrite'
        ? { actions: [...TABLE_READ_ACTIONS, ...TABLE_WRITE_ACTIONS], queriedIndexes: all }
        : access;
  if (grant.actions.length === 0 && (grant.queriedIndexes ?? []).length === 0) {
    throw new EmptyTableAccessError(`a grant on table ${design.id} needs at least one action or index`);
  }
  const unknown = (grant.queriedIndexes ?? []).filter((index) => !all.includes(index));
  if (unknown.length > 0) {
    throw new UnknownTableError(`table ${design.id} has no index ${unknown.join(', ')}`);
  }
  return {
    actions: [...new Set(grant.actions)].sort(),
    queriedIndexes: [...new Set(grant.queriedIndexes ?? [])].sort(),
  };
}

/** Thrown when a table is bound with nothing granted on it (leave the table out instead). */
export class EmptyTableAccessError extends Error {
  override readonly name = 'EmptyTableAccessError';
}

/** Thrown when a function is placed in a VPC without its own security group. */
export class MissingSecurityGroupError extends Error {
  override readonly name = 'MissingSecurityGroupError';
}

/** Thrown when a table's design cannot be found from its construct path. */
export class UnknownTableError extends Error {
  override readonly name = 'UnknownTableError';
}

/** Finds the shared design of a table from its construct ids below its stack (`…/VmInventory/Table`). */
export function tableDesignOf(table: ITableV2): TableDesign {
  const scopes = table.node.scopes;
  const ids = scopes.slice(scopes.indexOf(Stack.of(table)) + 1).map((scope) => scope.node.id);
  const design = TABLE_DESIGNS.find((candidate) => ids.includes(candidate.id));
  if (!design) {
    throw new UnknownTableError(
      `cannot tell which table ${table.node.path} is: pass its design to bindTable()`,
    );
  }
  return design;
}
