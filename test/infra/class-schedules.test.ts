import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { CLASS_SCHEDULES_TABLE_ACCESS } from '#infra/constructs/class-schedules.ts';
import { synthApp } from './helpers.ts';

const ResourcesSchema = z.record(
  z.string(),
  z.object({ Type: z.string(), Properties: z.record(z.string(), z.unknown()).default({}) }),
);
type Resources = z.infer<typeof ResourcesSchema>;
const StatementSchema = z.object({
  Effect: z.string(),
  Action: z.union([z.string(), z.array(z.string())]),
  Resource: z.unknown(),
});

let template: Template;
let all: Resources;

beforeAll(() => {
  const { stacks, template: templateOf } = synthApp();
  template = templateOf(stacks.api);
  all = ResourcesSchema.parse(template.toJSON().Resources);
});

const byType = (type: string) => Object.entries(all).filter(([, r]) => r.Type === type);

function classSchedulesFunction(): [string, Resources[string]] {
  const found = byType('AWS::Lambda::Function').filter(([, r]) =>
    String(r.Properties.Description).startsWith('Evaluates every class schedule'),
  );
  expect(found).toHaveLength(1);
  return found[0] as [string, Resources[string]];
}

function statementsOfRole(roleId: string) {
  return byType('AWS::IAM::Policy')
    .filter(([, r]) => JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap(
      ([, r]) =>
        z.object({ PolicyDocument: z.object({ Statement: z.array(StatementSchema) }) }).parse(r.Properties)
          .PolicyDocument.Statement,
    );
}

const actionsOf = (statement: z.infer<typeof StatementSchema>) =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

describe('class schedules', () => {
  it('are evaluated by one function, invoked by one EventBridge Scheduler schedule every 5 minutes', () => {
    const [functionId] = classSchedulesFunction();
    const schedules = byType('AWS::Scheduler::Schedule').filter(([, r]) =>
      JSON.stringify(r.Properties.Target).includes(functionId),
    );
    expect(schedules).toHaveLength(1);
    const [, schedule] = schedules[0] as [string, Resources[string]];
    expect(schedule.Properties.ScheduleExpression).toBe('rate(5 minutes)');
    expect(schedule.Properties.FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
    expect(schedule.Properties.Target).toMatchObject({ RetryPolicy: { MaximumRetryAttempts: 0 } });
    // one schedule for all classes: no other schedule in the API stack
    expect(byType('AWS::Scheduler::Schedule')).toHaveLength(1);
  });

  it("lets the schedule's role invoke that function only", () => {
    const [functionId] = classSchedulesFunction();
    const [, schedule] = byType('AWS::Scheduler::Schedule')[0] as [string, Resources[string]];
    const roleId = z
      .object({ RoleArn: z.object({ 'Fn::GetAtt': z.tuple([z.string(), z.string()]) }) })
      .parse(schedule.Properties.Target).RoleArn['Fn::GetAtt'][0];
    const statements = statementsOfRole(roleId);
    expect(statements.flatMap(actionsOf)).toEqual(['lambda:InvokeFunction']);
    expect(JSON.stringify(statements.map((s) => s.Resource))).toContain(functionId);
  });

  it('runs in the VPC with the clusters configuration and exactly its DynamoDB grants', () => {
    const [, fn] = classSchedulesFunction();
    expect(fn.Properties.VpcConfig).toBeDefined();
    const env = z
      .object({ Variables: z.record(z.string(), z.unknown()) })
      .parse(fn.Properties.Environment).Variables;
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining([
        'CLUSTERS_CONFIG',
        'INVENTORY_TABLE',
        'SYNC_STATE_TABLE',
        'OWNERSHIP_TABLE',
        'AUDIT_TABLE',
      ]),
    );
    const roleId = z.object({ 'Fn::GetAtt': z.tuple([z.string(), z.string()]) }).parse(fn.Properties.Role)[
      'Fn::GetAtt'
    ][0];
    const grants: Record<string, string[]> = {};
    for (const statement of statementsOfRole(roleId)) {
      const text = JSON.stringify(statement.Resource);
      const table = /ExportsOutputFnGetAtt(VmInventory|SyncState|Ownership|AuditTrail)/.exec(text)?.[1];
      if (table === undefined || text.includes('/index/')) continue;
      grants[table] = [...(grants[table] ?? []), ...actionsOf(statement)].sort();
    }
    const expected = (name: keyof typeof CLASS_SCHEDULES_TABLE_ACCESS) =>
      CLASS_SCHEDULES_TABLE_ACCESS[name].actions.map((a) => `dynamodb:${a}`).sort();
    expect(grants).toEqual({
      VmInventory: expected('inventory'),
      SyncState: expected('syncState'),
      Ownership: expected('ownership'),
      AuditTrail: expected('audit'),
    });
  });

  it("publishes failed actions to the sync stack's admin alert topic: exact grants and ALERT_TOPIC_ARN", () => {
    const [, fn] = classSchedulesFunction();
    const topic = {
      'Fn::ImportValue': expect.stringMatching(/^PveInventorySync:ExportsOutputRefAlertsTopic/),
    };
    const key = {
      'Fn::ImportValue': expect.stringMatching(/^PveInventorySync:ExportsOutputFnGetAttAlertsKey\w+Arn/),
    };
    const env = z
      .object({ Variables: z.record(z.string(), z.unknown()) })
      .parse(fn.Properties.Environment).Variables;
    expect(env.ALERT_TOPIC_ARN).toEqual(topic);
    const roleId = z.object({ 'Fn::GetAtt': z.tuple([z.string(), z.string()]) }).parse(fn.Properties.Role)[
      'Fn::GetAtt'
    ][0];
    const alerting = statementsOfRole(roleId).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('sns:') || a.startsWith('kms:')),
    );
    expect(alerting).toEqual([
      { Effect: 'Allow', Action: 'sns:Publish', Resource: topic },
      { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: key },
    ]);
  });
});
