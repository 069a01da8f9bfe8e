import { Duration, Stack } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Schedule, ScheduleExpression, ScheduleTargetInput, TimeWindow } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { ListClustersInput } from '#shared/sync/contract.ts';

/** Properties of {@link SyncSchedules}. */
export interface SyncSchedulesProps {
  readonly fullSync: IStateMachine;
  readonly quickSync: IStateMachine;
  /** Full-sync period in minutes. */
  readonly fullSyncMinutes: number;
}

/**
 * EventBridge Scheduler schedules: the full sync every `fullSyncMinutes`, the quick sync every
 * minute (its wait loop provides the sub-minute cadence). Each schedule has its own role that may
 * only start its own state machine.
 */
export class SyncSchedules extends Construct {
  public readonly fullSchedule: Schedule;
  public readonly quickSchedule: Schedule;

  constructor(scope: Construct, id: string, props: SyncSchedulesProps) {
    super(scope, id);
    this.fullSchedule = this.schedule('FullSync', props.fullSync, Duration.minutes(props.fullSyncMinutes), {
      mode: 'full',
    });
    this.quickSchedule = this.schedule('QuickSync', props.quickSync, Duration.minutes(1), { mode: 'quick' });
  }

  private schedule(id: string, machine: IStateMachine, every: Duration, input: ListClustersInput): Schedule {
    const role = new Role(this, `${id}Role`, {
      description: `Lets EventBridge Scheduler start the ${id} state machine`,
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    });
    return new Schedule(this, id, {
      description: `Starts the ${id} state machine every ${every.toHumanString()}`,
      schedule: ScheduleExpression.rate(every),
      timeWindow: TimeWindow.off(),
      target: new StepFunctionsStartExecution(machine, {
        role,
        input: ScheduleTargetInput.fromObject(input),
        // A missed start is not retried: the next tick comes soon and would overlap with it.
        retryAttempts: 0,
        maxEventAge: Duration.minutes(1),
      }),
    });
  }
}
