import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  CLUSTER_SERIES_METRICS,
  FLEET_SERIES_METRICS,
  STALE_CLUSTER_ALARM_SECONDS,
  SYNC_METRICS_NAMESPACE,
  SYNC_SERVICE_NAME,
  SyncMetric,
} from '#shared/sync/metrics-names.ts';
import { synthApp } from './helpers.ts';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:pve/lab-b-AbCdEf';
const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

/** A clusters file (contract 1) in a temporary directory, with a CA file beside it. */
function writeClustersFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sync-stack-test-'));
  writeFileSync(join(dir, 'ca.pem'), CA_PEM);
  const file = join(dir, 'clusters.json');
  writeFileSync(
    file,
    JSON.stringify({
      clusters: [
        {
          id: 'lab-a',
          name: 'Lab A',
          endpoints: [{ url: 'https://10.0.0.1:8006' }, { url: 'https://10.0.0.2:8006' }],
          tokenId: 'inventory@pve!sync',
          tokenSecret: { awsSecret: 'pve/lab-a' },
          tls: { caFile: 'ca.pem' },
        },
        {
          id: 'lab-b',
          name: 'Lab B',
          endpoints: [{ url: 'https://10.1.0.1:8443' }],
          tokenId: 'inventory@pve!sync',
          tokenSecret: { awsSecret: SECRET_ARN },
          probePorts: { rdp: 13389, ssh: 2222 },
        },
      ],
    }),
  );
  return file;
}

const GetAttSchema = z.object({ 'Fn::GetAtt': z.tuple([z.string(), z.string()]) });
const StatementSchema = z.object({
  Effect: z.string(),
  Action: z.union([z.string(), z.array(z.string())]),
  Resource: z.unknown(),
});
type Statement = z.infer<typeof StatementSchema>;
const TemplateSchema = z.object({
  Resources: z.record(
    z.string(),
    z.object({ Type: z.string(), Properties: z.record(z.string(), z.unknown()).default({}) }),
  ),
});
type Resources = z.infer<typeof TemplateSchema>['Resources'];

function resources(template: Template): Resources {
  return TemplateSchema.parse(template.toJSON()).Resources;
}

function functionIdByDescription(template: Template, fragment: string): string {
  const found = Object.entries(template.findResources('AWS::Lambda::Function')).filter(([, fn]) =>
    String(fn.Properties?.Description).includes(fragment),
  );
  expect(found).toHaveLength(1);
  return found[0]?.[0] ?? '';
}

/** Every IAM statement attached to the role of a function. */
function statementsOfFunction(template: Template, functionId: string): Statement[] {
  const all = resources(template);
  const role = GetAttSchema.parse(all[functionId]?.Properties.Role)['Fn::GetAtt'][0];
  const PolicySchema = z.object({ PolicyDocument: z.object({ Statement: z.array(StatementSchema) }) });
  return Object.values(all)
    .filter(
      (r) =>
        r.Type === 'AWS::IAM::Policy' &&
        JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: role }]),
    )
    .flatMap((r) => PolicySchema.parse(r.Properties).PolicyDocument.Statement);
}

/** Logical id of the security group of the (single) sync-cluster function. */
function syncSecurityGroupId(template: Template): string {
  const fn = resources(template)[functionIdByDescription(template, 'syncs one Proxmox cluster')];
  const vpcConfig = z
    .object({ SecurityGroupIds: z.array(GetAttSchema).length(1) })
    .parse(fn?.Properties.VpcConfig);
  return vpcConfig.SecurityGroupIds[0]?.['Fn::GetAtt'][0] ?? '';
}

const asList = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);

/** Actions granted per resource (rendered as JSON), for comparison. */
function grants(statements: Statement[]): Map<string, string[]> {
  const byResource = new Map<string, string[]>();
  for (const statement of statements) {
    expect(statement.Effect).toBe('Allow');
    const resourceList = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
    for (const resource of resourceList) {
      const key = JSON.stringify(resource);
      byResource.set(key, [...(byResource.get(key) ?? []), ...asList(statement.Action)].sort());
    }
  }
  return byResource;
}

const dynamo = (...actions: string[]) => actions.map((action) => `dynamodb:${action}`).sort();

/** The table-related grants: `[table export name pattern, index or '', actions]`. */
function tableGrants(statements: Statement[]): [string, string, string[]][] {
  return [...grants(statements).entries()]
    .filter(([resource]) => resource.includes('ExportsOutputFnGetAtt'))
    .map(([resource, actions]): [string, string, string[]] => {
      const table = /ExportsOutputFnGetAtt(\w+?)Table/.exec(resource)?.[1] ?? '?';
      const index = /\/index\/(\w+)/.exec(resource)?.[1] ?? '';
      return [table, index, actions];
    })
    .sort((a, b) => `${a[0]}${a[1]}`.localeCompare(`${b[0]}${b[1]}`));
}

/** Renders a dashboard body (Fn::Join of strings and references) to parsed JSON. */
function dashboardMetrics(template: Template): unknown[][] {
  const [dashboard] = Object.values(resources(template)).filter(
    (r) => r.Type === 'AWS::CloudWatch::Dashboard',
  );
  const body = z
    .object({ 'Fn::Join': z.tuple([z.string(), z.array(z.unknown())]) })
    .parse(dashboard?.Properties.DashboardBody);
  const text = body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('');
  const parsed = z
    .object({
      widgets: z.array(
        z.object({ properties: z.object({ metrics: z.array(z.array(z.unknown())).optional() }) }),
      ),
    })
    .parse(JSON.parse(text));
  return parsed.widgets.flatMap((widget) => widget.properties.metrics ?? []);
}

describe('SyncStack', () => {
  let template: Template;
  let clustersFile: string;

  beforeAll(() => {
    clustersFile = writeClustersFile();
    const { stacks, template: templateOf } = synthApp({
      pveInventory: {
        clustersFile,
        fullSyncMinutes: 5,
        quickSyncSeconds: 30,
        alarmEmail: 'ops@example.org',
        alerts: { emails: ['admins@example.org'], webhooks: ['https://hooks.example.org/pve'] },
        // every endpoint of the test file is an IP: no proxmoxCidrs needed
        proxmoxCidrs: null,
        guestCidrs: ['10.30.0.0/16'],
      },
    });
    template = templateOf(stacks.sync);
  });

  it('schedules the full sync every fullSyncMinutes and the quick sync every minute, each with its own role', () => {
    const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule'));
    expect(schedules.map((s) => s.Properties.ScheduleExpression).sort()).toEqual([
      'rate(1 minute)',
      'rate(5 minutes)',
    ]);
    const machines = template.findResources('AWS::StepFunctions::StateMachine');
    const machineId = (type: string) =>
      Object.entries(machines).find(([, m]) => m.Properties.StateMachineType === type)?.[0];
    for (const [rate, type, mode] of [
      ['rate(5 minutes)', 'STANDARD', 'full'],
      ['rate(1 minute)', 'EXPRESS', 'quick'],
    ] as const) {
      const schedule = schedules.find((s) => s.Properties.ScheduleExpression === rate);
      const target = schedule?.Properties.Target;
      expect(target.Arn).toEqual({ Ref: machineId(type) });
      expect(JSON.parse(target.Input)).toEqual({ mode });
      expect(schedule?.Properties.FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
      const roleId = target.RoleArn['Fn::GetAtt'][0];
      template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: {
          Statement: [Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' } })],
        },
      });
      const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter(
        (p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
      );
      expect(policies.flatMap((p) => p.Properties.PolicyDocument.Statement)).toEqual([
        { Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: machineId(type) } },
      ]);
    }
  });

  it('places exactly the Proxmox-facing function (sync-cluster) in the VPC', () => {
    const inVpc = Object.entries(template.findResources('AWS::Lambda::Function')).filter(
      ([, fn]) => fn.Properties.VpcConfig !== undefined,
    );
    expect(inVpc.map(([id]) => id)).toEqual([functionIdByDescription(template, 'syncs one Proxmox cluster')]);
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions.filter((fn) => String(fn.Properties.Description).startsWith('Sync task'))).toHaveLength(
      3,
    );
    // the fourth is CDK's custom resource provider that reads the DynamoDB prefix list id at deploy time
    expect(functions).toHaveLength(4);
    template.hasResourceProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false });
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL' });
  });

  it('creates a DynamoDB gateway endpoint and a Secrets Manager interface endpoint open only to the sync functions', () => {
    const endpoints = Object.values(template.findResources('AWS::EC2::VPCEndpoint')).map((endpoint) => [
      endpoint.Properties.VpcEndpointType,
      JSON.stringify(endpoint.Properties.ServiceName)
        .replace(/[^a-z.]/g, '')
        .split('.')
        .at(-1),
      endpoint.Properties.PrivateDnsEnabled,
    ]);
    expect(endpoints.sort()).toEqual([
      ['Gateway', 'dynamodb', undefined],
      ['Interface', 'secretsmanager', true],
    ]);
    const [smEndpoint] = Object.values(template.findResources('AWS::EC2::VPCEndpoint')).filter(
      (e) => e.Properties.VpcEndpointType === 'Interface',
    );
    // One AZ by default (secretsManagerEndpointAzs): half the fixed cost of two.
    expect(smEndpoint?.Properties.SubnetIds).toHaveLength(1);
    const sgId = syncSecurityGroupId(template);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      SourceSecurityGroupId: { 'Fn::GetAtt': [sgId, 'GroupId'] },
    });
  });

  it('lets the sync functions reach only their clusters’ API ports, the guests’ probe ports and the two endpoints', () => {
    const sgId = syncSecurityGroupId(template);
    const group = resources(template)[sgId];
    const egress = z
      .array(
        z.object({
          IpProtocol: z.string(),
          FromPort: z.number(),
          ToPort: z.number(),
          CidrIp: z.string().optional(),
          DestinationPrefixListId: z.unknown().optional(),
          DestinationSecurityGroupId: z.unknown().optional(),
        }),
      )
      .parse([
        ...z.array(z.unknown()).parse(group?.Properties.SecurityGroupEgress),
        ...Object.values(
          template.findResources('AWS::EC2::SecurityGroupEgress', {
            Properties: { GroupId: { 'Fn::GetAtt': [sgId, 'GroupId'] } },
          }),
        ).map((r) => r.Properties),
      ]);
    const byCidr = egress
      .filter((rule) => rule.CidrIp !== undefined)
      .map((rule) => `${rule.CidrIp} ${rule.IpProtocol}/${rule.FromPort}-${rule.ToPort}`)
      .sort();
    expect(byCidr).toEqual(
      [
        '10.0.0.1/32 tcp/8006-8006',
        '10.0.0.2/32 tcp/8006-8006',
        '10.1.0.1/32 tcp/8443-8443',
        '10.30.0.0/16 tcp/22-22',
        '10.30.0.0/16 tcp/2222-2222',
        '10.30.0.0/16 tcp/3389-3389',
        '10.30.0.0/16 tcp/13389-13389',
      ].sort(),
    );
    expect(egress.some((rule) => rule.CidrIp === '0.0.0.0/0')).toBe(false);
    // HTTPS to DynamoDB through its gateway endpoint: the region's prefix list, read at deploy time
    const toPrefixList = egress.filter((rule) => rule.DestinationPrefixListId !== undefined);
    expect(toPrefixList.map((rule) => [rule.FromPort, rule.ToPort])).toEqual([[443, 443]]);
    expect(JSON.stringify(toPrefixList[0]?.DestinationPrefixListId)).toContain('DynamoDbPrefixList');
    const lookup = Object.values(template.findResources('Custom::AWS'));
    expect(lookup).toHaveLength(1);
    const call = JSON.stringify(lookup[0]?.Properties.Update);
    expect(call).toContain('DescribePrefixLists');
    expect(call).toContain('com.amazonaws.');
    expect(call).toContain('.dynamodb');
    // HTTPS to the Secrets Manager endpoint's own security group
    const endpointGroup = Object.entries(resources(template)).find(
      ([, r]) =>
        r.Type === 'AWS::EC2::SecurityGroup' &&
        String(r.Properties.GroupDescription).startsWith('Secrets Manager endpoint'),
    )?.[0];
    expect(endpointGroup).toBeDefined();
    const toEndpoint = egress.filter((rule) => rule.DestinationSecurityGroupId !== undefined);
    expect(toEndpoint).toHaveLength(1);
    expect(toEndpoint[0]).toMatchObject({
      FromPort: 443,
      ToPort: 443,
      DestinationSecurityGroupId: { 'Fn::GetAtt': [endpointGroup, 'GroupId'] },
    });
  });

  it('grants list-clusters no table at all (it reads only its configuration)', () => {
    const statements = statementsOfFunction(
      template,
      functionIdByDescription(template, 'lists the clusters'),
    );
    expect(tableGrants(statements)).toEqual([]);
    expect(statements.flatMap((s) => asList(s.Action)).some((a) => a.startsWith('dynamodb:'))).toBe(false);
    expect(statements.flatMap((s) => asList(s.Action)).some((a) => a.startsWith('secretsmanager:'))).toBe(
      false,
    );
  });

  it('grants sync-cluster only the actions the engine calls (no Scan), index queries by name, and only its clusters’ secrets', () => {
    const statements = statementsOfFunction(
      template,
      functionIdByDescription(template, 'syncs one Proxmox cluster'),
    );
    expect(tableGrants(statements)).toEqual([
      ['Ownership', '', dynamo('UpdateItem')],
      ['Ownership', 'ByVm', dynamo('Query')],
      ['SyncState', '', dynamo('BatchWriteItem', 'DeleteItem', 'GetItem', 'PutItem', 'Query', 'UpdateItem')],
      ['VmInventory', '', dynamo('BatchWriteItem', 'DeleteItem', 'PutItem', 'Query', 'UpdateItem')],
    ]);
    const secrets = statements.filter((s) => asList(s.Action).includes('secretsmanager:GetSecretValue'));
    expect(secrets).toHaveLength(1);
    expect(asList(secrets[0]?.Action ?? [])).toEqual(['secretsmanager:GetSecretValue']);
    const rendered = JSON.stringify(secrets[0]?.Resource);
    expect(rendered).toContain(':secret:pve/lab-a-??????');
    expect(rendered).toContain(JSON.stringify(SECRET_ARN));
    expect(rendered).not.toContain('*');
    // The only wildcard resource left is X-Ray's, which has no resource-level permissions.
    const wildcard = statements.filter((s) => JSON.stringify(s.Resource) === '"*"');
    expect(wildcard.flatMap((s) => asList(s.Action)).sort()).toEqual([
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
  });

  it('grants record-run PutItem and Query on the sync state only, and publishing to the alert topic', () => {
    const statements = statementsOfFunction(template, functionIdByDescription(template, 'records a run'));
    expect(tableGrants(statements)).toEqual([['SyncState', '', dynamo('PutItem', 'Query')]]);
    const alertTopic = Object.keys(template.findResources('AWS::SNS::Topic')).find((id) =>
      id.includes('AlertsTopic'),
    );
    expect(grants(statements).get(JSON.stringify({ Ref: alertTopic }))).toEqual(['sns:Publish']);
    const alertKey = Object.keys(template.findResources('AWS::KMS::Key')).find((id) =>
      id.includes('AlertsKey'),
    );
    expect(grants(statements).get(JSON.stringify({ 'Fn::GetAtt': [alertKey, 'Arn'] }))).toEqual([
      'kms:Decrypt',
      'kms:GenerateDataKey',
    ]);
    const fn = resources(template)[functionIdByDescription(template, 'records a run')]?.Properties ?? {};
    expect(fn.Environment).toMatchObject({
      Variables: { ALERT_TOPIC_ARN: { Ref: alertTopic }, STALE_AFTER_SECONDS: expect.any(String) },
    });
  });

  it('subscribes the configured e-mails and HTTPS webhooks to an encrypted, SSL-only admin alert topic', () => {
    const topics = Object.entries(template.findResources('AWS::SNS::Topic')).filter(([id]) =>
      id.includes('AlertsTopic'),
    );
    expect(topics).toHaveLength(1);
    const [topicId, topic] = topics[0] ?? ['', {}];
    const keyId = Object.keys(template.findResources('AWS::KMS::Key')).find((id) => id.includes('AlertsKey'));
    expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    expect(template.findResources('AWS::KMS::Key')[keyId ?? '']?.Properties.EnableKeyRotation).toBe(true);
    const subscriptions = Object.values(template.findResources('AWS::SNS::Subscription'))
      .filter((sub) => JSON.stringify(sub.Properties.TopicArn) === JSON.stringify({ Ref: topicId }))
      .map((sub) => [sub.Properties.Protocol, sub.Properties.Endpoint])
      .sort();
    expect(subscriptions).toEqual([
      ['email', 'admins@example.org'],
      ['https', 'https://hooks.example.org/pve'],
    ]);
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('configures every sync function per contract 4 with the clusters configuration inlined (CA file included)', () => {
    for (const fragment of ['lists the clusters', 'syncs one Proxmox cluster', 'records a run']) {
      const fn = resources(template)[functionIdByDescription(template, fragment)]?.Properties ?? {};
      expect(fn).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        // Traced when the caller's trace is sampled (full sync, API refresh), not on every quick pass.
        TracingConfig: { Mode: 'PassThrough' },
        LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
      });
      const env = z.object({ Variables: z.record(z.string(), z.unknown()) }).parse(fn.Environment).Variables;
      expect(env).toMatchObject({
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: SYNC_SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: SYNC_METRICS_NAMESPACE,
      });
      const clusters = JSON.parse(String(env.CLUSTERS_CONFIG));
      expect(clusters.clusters.map((c: { id: string }) => c.id)).toEqual(['lab-a', 'lab-b']);
      expect(clusters.clusters[0].tls).toEqual({ caPem: CA_PEM });
    }
  });

  it('hands the deployment cadence to the sync function (rotation sizing follows the full-sync period)', () => {
    const fn =
      resources(template)[functionIdByDescription(template, 'syncs one Proxmox cluster')]?.Properties ?? {};
    const env = z.object({ Variables: z.record(z.string(), z.unknown()) }).parse(fn.Environment).Variables;
    expect(env).toMatchObject({
      FULL_SYNC_MINUTES: '5',
      QUICK_SYNC_SECONDS: '30',
      STALE_AFTER_SECONDS: '600',
    });
  });

  it('runs a Standard full sync (traced) and an Express quick sync (untraced by default), both logging ALL', () => {
    const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
    expect(machines.map((m) => m.Properties.StateMachineType).sort()).toEqual(['EXPRESS', 'STANDARD']);
    expect(
      Object.fromEntries(
        machines.map((m) => [m.Properties.StateMachineType, m.Properties.TracingConfiguration]),
      ),
    ).toEqual({ STANDARD: { Enabled: true }, EXPRESS: { Enabled: false } });
    for (const machine of machines) {
      expect(machine.Properties.LoggingConfiguration).toMatchObject({
        Level: 'ALL',
        IncludeExecutionData: true,
      });
    }
    for (const group of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
    }
  });

  it('alarms on stale and failing clusters (per cluster) and on failed executions, to an SSL-only topic with e-mail', () => {
    for (const cluster of ['lab-a', 'lab-b']) {
      const dimensions = Match.arrayEquals([
        { Name: 'cluster_id', Value: cluster },
        { Name: 'service', Value: SYNC_SERVICE_NAME },
      ]);
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: SYNC_METRICS_NAMESPACE,
        MetricName: SyncMetric.SecondsSinceLastSuccess,
        Dimensions: dimensions,
        Threshold: STALE_CLUSTER_ALARM_SECONDS,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'breaching',
        AlarmActions: [{ Ref: Match.stringLikeRegexp('AlarmTopic') }],
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: SYNC_METRICS_NAMESPACE,
        MetricName: SyncMetric.Errors,
        Dimensions: dimensions,
        Threshold: 5,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
    const executionAlarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((alarm) =>
      JSON.stringify(alarm.Properties.Metrics ?? []).includes('ExecutionsFailed'),
    );
    expect(executionAlarms).toHaveLength(2);
    for (const alarm of executionAlarms)
      expect(JSON.stringify(alarm.Properties.Metrics)).toContain('ExecutionsTimedOut');
    // A sync-cluster run killed at its timeout is caught inside the Map: its function errors alarm.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('SyncCluster') } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('AlarmTopic') }],
    });
    // 2 per cluster, 2 on executions, 1 on killed or crashed runs, 1 on throttled sync invocations
    template.resourceCountIs('AWS::CloudWatch::Alarm', 8);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.org',
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('encrypts the alarm topic with a rotating customer key that CloudWatch (this account only) may use, and takes publishes from CloudWatch only', () => {
    // (the admin alert topic has its own key and topic: tested below)
    const keys = Object.entries(template.findResources('AWS::KMS::Key')).filter(([id]) =>
      id.includes('AlarmTopicKey'),
    );
    expect(keys).toHaveLength(1);
    const [keyId, key] = keys[0] ?? ['', {}];
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.Properties.KeyPolicy.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        }),
      ]),
    );
    const topics = Object.entries(template.findResources('AWS::SNS::Topic')).filter(([id]) =>
      id.includes('AlarmTopic'),
    );
    expect(topics).toHaveLength(1);
    const [topicId, topic] = topics[0] ?? ['', {}];
    expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ]),
      },
    });
    // every alarm of the stack notifies that topic
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    }
  });

  it('reserves sync-cluster the concurrency derived from the Map concurrency and cluster count, and alarms on its throttles', () => {
    const syncCluster = resources(template)[functionIdByDescription(template, 'syncs one Proxmox cluster')];
    // 2 × min(syncMaxConcurrency 10, 2 clusters) + 2 clusters
    expect(syncCluster?.Properties.ReservedConcurrentExecutions).toBe(6);
    for (const fragment of ['lists the clusters', 'records a run']) {
      expect(
        resources(template)[functionIdByDescription(template, fragment)]?.Properties
          .ReservedConcurrentExecutions,
      ).toBeUndefined();
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Throttles',
      Dimensions: [
        {
          Name: 'FunctionName',
          Value: { Ref: functionIdByDescription(template, 'syncs one Proxmox cluster') },
        },
      ],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('shows every sync metric on the dashboard with the dimensions the engine emits (per cluster or fleet-wide)', () => {
    const metrics = dashboardMetrics(template);
    for (const name of FLEET_SERIES_METRICS) {
      const rows = metrics.filter((m) => m[0] === SYNC_METRICS_NAMESPACE && m[1] === name);
      expect(rows).toHaveLength(1);
      expect(rows[0]?.slice(2, 4)).toEqual(['service', SYNC_SERVICE_NAME]);
      expect(rows[0]?.[4]).not.toBe('cluster_id');
    }
    for (const name of CLUSTER_SERIES_METRICS) {
      for (const cluster of ['lab-a', 'lab-b']) {
        const rows = metrics.filter(
          (m) => m[0] === SYNC_METRICS_NAMESPACE && m[1] === name && m.includes(cluster),
        );
        expect(rows).toHaveLength(1);
        const dimensions = Object.fromEntries([
          [rows[0]?.[2], rows[0]?.[3]],
          [rows[0]?.[4], rows[0]?.[5]],
        ]);
        expect(dimensions).toEqual({ service: SYNC_SERVICE_NAME, cluster_id: cluster });
        expect(typeof rows[0]?.[6]).toBe('object');
      }
    }
    const names = metrics.map((m) => m[1]);
    expect(names).toEqual(
      expect.arrayContaining(['ExecutionsFailed', 'ExecutionsTimedOut', 'Errors', 'Throttles']),
    );
    const awsLambda = metrics.filter((m) => m[0] === 'AWS/Lambda');
    expect(awsLambda).toHaveLength(6);
  });
});

describe('SyncStack with quickSyncTracing and a two-AZ endpoint', () => {
  it('traces every quick execution and its functions, and spans the endpoint over two AZs', () => {
    const { stacks, template: templateOf } = synthApp({
      pveInventory: {
        clustersFile: writeClustersFile(),
        quickSyncTracing: true,
        secretsManagerEndpointAzs: 2,
      },
    });
    const template = templateOf(stacks.sync);
    for (const machine of Object.values(template.findResources('AWS::StepFunctions::StateMachine'))) {
      expect(machine.Properties.TracingConfiguration).toEqual({ Enabled: true });
    }
    for (const fragment of ['lists the clusters', 'syncs one Proxmox cluster', 'records a run']) {
      const fn = resources(template)[functionIdByDescription(template, fragment)];
      expect(fn?.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    }
    const [smEndpoint] = Object.values(template.findResources('AWS::EC2::VPCEndpoint')).filter(
      (e) => e.Properties.VpcEndpointType === 'Interface',
    );
    expect(smEndpoint?.Properties.SubnetIds).toHaveLength(2);
  });
});

describe('SyncStack with an imported VPC', () => {
  it('uses the configured VPC, subnets and security group without a lookup', () => {
    const vpc = {
      vpcId: 'vpc-0abc1234',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      privateSubnetIds: ['subnet-0aaa1111', 'subnet-0bbb2222'],
      securityGroupId: 'sg-0ccc3333',
    };
    const { stacks, template: templateOf } = synthApp({
      pveInventory: { clustersFile: writeClustersFile(), vpc },
    });
    const template = templateOf(stacks.sync);

    template.resourceCountIs('AWS::EC2::VPC', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    const inVpc = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (fn) => fn.Properties.VpcConfig !== undefined,
    );
    expect(inVpc).toHaveLength(1);
    expect(inVpc[0]?.Properties.VpcConfig).toEqual({
      SubnetIds: vpc.privateSubnetIds,
      SecurityGroupIds: [vpc.securityGroupId],
    });
    // An imported VPC may have its own Secrets Manager endpoint: none is created by default, and
    // the operator's security group keeps its own rules.
    template.resourcePropertiesCountIs('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Interface' }, 0);
    template.resourceCountIs('AWS::EC2::SecurityGroupEgress', 0);
    template.resourceCountIs('Custom::AWS', 0);
  });

  it('creates the Secrets Manager endpoint in an imported VPC only when asked and its DNS support is confirmed', () => {
    const vpc = {
      vpcId: 'vpc-0abc1234',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      privateSubnetIds: ['subnet-0aaa1111', 'subnet-0bbb2222'],
      securityGroupId: 'sg-0ccc3333',
    };
    expect(() =>
      synthApp({ pveInventory: { clustersFile: writeClustersFile(), vpc, secretsManagerEndpoint: true } }),
    ).toThrow(/pveInventory\.secretsManagerEndpoint: .*DNS support.*vpc\.dnsSupport: true/);
    const { stacks, template: templateOf } = synthApp({
      pveInventory: {
        clustersFile: writeClustersFile(),
        vpc: { ...vpc, dnsSupport: true },
        secretsManagerEndpoint: true,
      },
    });
    const template = templateOf(stacks.sync);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcId: vpc.vpcId,
      VpcEndpointType: 'Interface',
      // One endpoint AZ by default (secretsManagerEndpointAzs): the first private subnet only.
      SubnetIds: vpc.privateSubnetIds.slice(0, 1),
      PrivateDnsEnabled: true,
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 443,
      SourceSecurityGroupId: vpc.securityGroupId,
    });
  });

  it('refuses subnets that cannot be spread over the availability zones, naming the setting', () => {
    const vpc = {
      vpcId: 'vpc-0abc1234',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      privateSubnetIds: ['subnet-0aaa1111', 'subnet-0bbb2222', 'subnet-0ccc3333'],
      securityGroupId: 'sg-0ccc3333',
    };
    expect(() => synthApp({ pveInventory: { clustersFile: writeClustersFile(), vpc } })).toThrow(
      /pveInventory\.vpc: privateSubnetIds must hold the same number of subnets in each of the availabilityZones/,
    );
  });

  it('adds no DynamoDB gateway endpoint to an imported VPC without route table ids', () => {
    const vpc = {
      vpcId: 'vpc-0abc1234',
      availabilityZones: ['eu-west-1a'],
      privateSubnetIds: ['subnet-0aaa1111'],
      securityGroupId: 'sg-0ccc3333',
    };
    const { stacks, template: templateOf } = synthApp({
      pveInventory: { clustersFile: writeClustersFile(), vpc },
    });
    templateOf(stacks.sync).resourcePropertiesCountIs(
      'AWS::EC2::VPCEndpoint',
      { VpcEndpointType: 'Gateway' },
      0,
    );
  });

  it('adds the DynamoDB gateway endpoint to the route tables of an imported VPC', () => {
    const vpc = {
      vpcId: 'vpc-0abc1234',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      privateSubnetIds: ['subnet-0aaa1111', 'subnet-0bbb2222'],
      securityGroupId: 'sg-0ccc3333',
      privateRouteTableIds: ['rtb-0ddd4444', 'rtb-0eee5555'],
    };
    const { stacks, template: templateOf } = synthApp({
      pveInventory: { clustersFile: writeClustersFile(), vpc },
    });
    templateOf(stacks.sync).hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcId: vpc.vpcId,
      VpcEndpointType: 'Gateway',
      RouteTableIds: vpc.privateRouteTableIds,
    });
  });

  it('refuses route table ids that do not match the subnets, naming the setting', () => {
    const vpc = {
      vpcId: 'vpc-0abc1234',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      privateSubnetIds: ['subnet-0aaa1111', 'subnet-0bbb2222'],
      securityGroupId: 'sg-0ccc3333',
      privateRouteTableIds: ['rtb-0ddd4444'],
    };
    expect(() => synthApp({ pveInventory: { clustersFile: writeClustersFile(), vpc } })).toThrow(
      /pveInventory\.vpc.*one route table id per private subnet id/,
    );
  });

  it('skips the Secrets Manager endpoint when configured', () => {
    const { stacks, template: templateOf } = synthApp({
      pveInventory: { clustersFile: writeClustersFile(), secretsManagerEndpoint: false },
    });
    const template = templateOf(stacks.sync);
    template.resourcePropertiesCountIs('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Interface' }, 0);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway' });
  });
});
