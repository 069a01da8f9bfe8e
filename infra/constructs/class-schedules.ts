import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { Schedule, ScheduleExpression, TimeWindow } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { CLASS_SCHEDULES_PERIOD_MINUTES } from '#shared/schedules/class-schedule.ts';
import {
  AUDIT_TABLE,
  INVENTORY_TABLE,
  OWNERSHIP_TABLE,
  SYNC_STATE_TABLE,
  type TableDesign,
} from '#shared/store/table-design.ts';
import type { ApiHandlerNetwork } from './api-handlers.ts';
import { PveFunction, type TableGrant } from './pve-function.ts';

export { CLASS_SCHEDULES_PERIOD_MINUTES };

/**
 * The DynamoDB actions of the class-schedules function, per table: the schedules (one Query), the
 * window claim (UpdateItem), the class and its VMs (GetItem, Query), a deleted class's schedule
 * (DeleteItem); the VMs (BatchGetItem) and their pending state and idle warnings (UpdateItem); the
 * metrics history's minute buckets (Query) and the read cache's version bumps of those VM writes
 * (UpdateItem); the audit trail (PutItem only).
 */
export const CLASS_SCHEDULES_TABLE_ACCESS: Readonly<
  Record<'inventory' | 'syncState' | 'ownership' | 'audit', TableGrant>
> = {
  inventory: { actions: ['BatchGetItem', 'UpdateItem'] },
  syncState: { actions: ['Query', 'UpdateItem'] },
  ownership: { actions: ['DeleteItem', 'GetItem', 'Query', 'UpdateItem'] },
  audit: { actions: ['PutItem'] },
};

/** Properties of {@link ClassSchedules}. */
export interface ClassSchedulesProps {
  readonly inventoryTable: ITableV2;
  readonly syncStateTable: ITableV2;
  readonly ownershipTable: ITableV2;
  readonly auditTable: ITableV2;
  /** Where Proxmox is reachable (the function sends the power actions). */
  readonly network?: ApiHandlerNetwork;
  /** Environment: the clusters configuration, the audit retention, the schedule settings. */
  readonly environment: Readonly<Record<string, string>>;
  /** @default {@link CLASS_SCHEDULES_PERIOD_MINUTES} */
  readonly periodMinutes?: number;
}

/**
 * One function evaluates every class's schedule (start and shutdown times, max uptime, the idle
 * rule), invoked by one EventBridge Scheduler schedule every few minutes: not one AWS schedule per
 * class. A missed invocation is not retried (the next one evaluates its window too).
 */
export class ClassSchedules extends Construct {
  public readonly function: PveFunction;
  public readonly schedule: Schedule;

  constructor(scope: Construct, id: string, props: ClassSchedulesProps) {
    super(scope, id);
    const minutes = props.periodMinutes ?? CLASS_SCHEDULES_PERIOD_MINUTES;
    this.function = new PveFunction(this, 'Evaluate', {
      entry: 'functions/schedule/run-class-schedules.ts',
      serviceName: 'pve-inventory-schedules',
      description: 'Evaluates every class schedule (start/shutdown times, max uptime, idle rule)',
      timeout: Duration.minutes(2),
      environment: props.environment,
      ...(props.network === undefined
        ? {}
        : {
            vpc: props.network.vpc,
            vpcSubnets: props.network.subnets,
            securityGroups: [props.network.securityGroup],
          }),
    });
    const tables: Record<keyof typeof CLASS_SCHEDULES_TABLE_ACCESS, [ITableV2, TableDesign]> = {
      inventory: [props.inventoryTable, INVENTORY_TABLE],
      syncState: [props.syncStateTable, SYNC_STATE_TABLE],
      ownership: [props.ownershipTable, OWNERSHIP_TABLE],
      audit: [props.auditTable, AUDIT_TABLE],
    };
    for (const [name, access] of Object.entries(CLASS_SCHEDULES_TABLE_ACCESS) as [
      keyof typeof tables,
      TableGrant,
    ][]) {
      const [table, design] = tables[name];
      this.function.bindTable(table, access, design);
    }
    const role = new Role(this, 'InvokeRole', {
      description: 'Lets EventBridge Scheduler invoke the class-schedules function',
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    });
    this.schedule = new Schedule(this, 'Every', {
      description: `Evaluates the class schedules every ${minutes} minutes`,
      schedule: ScheduleExpression.rate(Duration.minutes(minutes)),
      timeWindow: TimeWindow.off(),
      target: new LambdaInvoke(this.function.function, {
        role,
        retryAttempts: 0,
        maxEventAge: Duration.minutes(5),
      }),
    });
    const cfn = this.function.function.node.defaultChild;
    if (cfn instanceof CfnFunction) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(cfn).getLogicalId(cfn)}.Arn>:*]`,
        reason: `The scheduler target grants ${this.function.node.path} and its versions/aliases (<arn>:*); no other function is invocable.`,
      });
    }
  }
}
