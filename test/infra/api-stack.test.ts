import type { CfnElement } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ROUTE_TABLE_ACCESS } from '#infra/constructs/api-handlers.ts';
import { resolveTableGrant } from '#infra/constructs/pve-function.ts';
import { notFoundRoute, type RouteId, routeKey, routeList, routes } from '#shared/http/routes.ts';
import {
  AUDIT_TABLE,
  INVENTORY_TABLE,
  OWNERSHIP_TABLE,
  SYNC_STATE_TABLE,
} from '#shared/store/table-design.ts';
import { synthApp } from './helpers.ts';

const StatementSchema = z.object({
  Effect: z.string(),
  Action: z.union([z.string(), z.array(z.string())]),
  Resource: z.unknown(),
});
type Statement = z.infer<typeof StatementSchema>;
const ResourcesSchema = z.record(
  z.string(),
  z.object({ Type: z.string(), Properties: z.record(z.string(), z.unknown()).default({}) }),
);
type Resources = z.infer<typeof ResourcesSchema>;

let template: Template;
let all: Resources;
/** Logical id of the HTTP API (the live updates' WebSocket API has routes and integrations too). */
let httpApiId: string;
let oidcTemplate: Template;

beforeAll(() => {
  const { stacks, template: templateOf } = synthApp();
  template = templateOf(stacks.api);
  all = ResourcesSchema.parse(template.toJSON().Resources);
  httpApiId = stacks.api.getLogicalId(stacks.api.http.api.node.defaultChild as CfnElement);
  const oidc = synthApp({
    pveInventory: { oidc: { issuer: 'https://login.example.org/realms/lab', audience: ['portal'] } },
  });
  oidcTemplate = oidc.template(oidc.stacks.api);
});

/** Logical id of the function whose description starts with `API <key>:` (a route key, or `$default`). */
function functionIdWithKey(key: string): string {
  const found = Object.entries(all).filter(
    ([, r]) =>
      r.Type === 'AWS::Lambda::Function' && String(r.Properties.Description).startsWith(`API ${key}:`),
  );
  expect(found, key).toHaveLength(1);
  return found[0]?.[0] ?? '';
}

/** Logical id of a route's function (its description starts with the route key). */
function functionIdOf(routeId: RouteId): string {
  return functionIdWithKey(routeKey(routes[routeId]));
}

function statementsOf(routeId: RouteId): Statement[] {
  return statementsOfFunction(functionIdOf(routeId));
}

function statementsOfFunction(functionId: string): Statement[] {
  const fn = all[functionId];
  const role = z.object({ 'Fn::GetAtt': z.tuple([z.string(), z.string()]) }).parse(fn?.Properties.Role)[
    'Fn::GetAtt'
  ][0];
  const PolicySchema = z.object({ PolicyDocument: z.object({ Statement: z.array(StatementSchema) }) });
  return Object.values(all)
    .filter(
      (r) =>
        r.Type === 'AWS::IAM::Policy' &&
        JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: role }]),
    )
    .flatMap((r) => PolicySchema.parse(r.Properties).PolicyDocument.Statement);
}

const actionsOf = (statement: Statement) =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

/**
 * The DynamoDB actions granted to a route's function, per table and per index:
 * `{ 'Ownership': [...], 'Ownership/index/ByVm': [...] }` (sorted).
 */
function dynamoGrantsOf(routeId: RouteId): Record<string, string[]> {
  const grants: Record<string, string[]> = {};
  for (const statement of statementsOf(routeId)) {
    const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
    for (const resource of resources) {
      const text = JSON.stringify(resource);
      const table = /ExportsOutputFnGetAtt(VmInventory|SyncState|Ownership|AuditTrail)/.exec(text)?.[1];
      if (table === undefined) continue;
      const index = /\/index\/(\w+)/.exec(text)?.[1];
      const key = index === undefined ? table : `${table}/index/${index}`;
      grants[key] = [...(grants[key] ?? []), ...actionsOf(statement)].sort();
    }
  }
  return grants;
}

/** Whether a resource belongs to the HTTP API (by its `ApiId`). */
function onHttpApi(resource: Resources[string]): boolean {
  return z.object({ Ref: z.literal(httpApiId) }).safeParse(resource.Properties.ApiId).success;
}

describe('ApiStack', () => {
  it('has one route per entry of the route table, with the JWT authorizer on every jwt route', () => {
    const created = Object.values(all).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route' && onHttpApi(r));
    expect(created.map((r) => r.Properties.RouteKey).sort()).toEqual(
      [...routeList.map(routeKey), notFoundRoute.routeKey].sort(),
    );
    for (const route of routeList) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: routeKey(route),
        AuthorizationType: route.auth === 'jwt' ? 'JWT' : 'NONE',
        ...(route.auth === 'jwt' ? { AuthorizerId: Match.anyValue() } : {}),
      });
    }
  });

  it('checks Cognito tokens: issuer of the user pool, audience of the app client', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: {
        Audience: [{ Ref: Match.stringLikeRegexp('WebClient') }],
        Issuer: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('https://cognito-idp\\.')])] },
      },
    });
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      Policies: {
        PasswordPolicy: Match.objectLike({
          MinimumLength: 14,
          RequireUppercase: true,
          RequireLowercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        }),
      },
      MfaConfiguration: 'OPTIONAL',
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
    });
    for (const group of ['admins', 'teachers']) {
      template.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: group });
    }
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      // The portal's origin (imported from the portal stack), nothing else by default.
      CallbackURLs: [Match.objectLike({ 'Fn::Join': Match.anyValue() })],
      LogoutURLs: [Match.objectLike({ 'Fn::Join': Match.anyValue() })],
    });
  });

  it('uses an external OIDC issuer instead of a user pool when configured', () => {
    oidcTemplate.resourceCountIs('AWS::Cognito::UserPool', 0);
    oidcTemplate.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      JwtConfiguration: { Audience: ['portal'], Issuer: 'https://login.example.org/realms/lab' },
    });
  });

  it('answers CORS preflights for the configured origins and logs every request with throttling', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: Match.objectLike({
        AllowOrigins: [Match.objectLike({ 'Fn::Join': Match.anyValue() })],
        AllowHeaders: ['authorization', 'content-type', 'if-none-match'],
        ExposeHeaders: ['etag'],
      }),
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('AccessLogs'), 'Arn'] },
        Format: Match.stringLikeRegexp('\\$context\\.requestId'),
      },
      DefaultRouteSettings: { ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 },
    });
  });

  it('integrates every route with its own function (payload 2.0)', () => {
    const integrations = Object.values(all).filter(
      (r) => r.Type === 'AWS::ApiGatewayV2::Integration' && onHttpApi(r),
    );
    // One per route, and the catch-all's.
    expect(integrations).toHaveLength(routeList.length + 1);
    for (const integration of integrations) {
      expect(integration.Properties).toMatchObject({
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
      });
    }
    const ids = new Set(routeList.map((route) => functionIdOf(route.id as RouteId)));
    expect(ids.size).toBe(routeList.length);
  });

  it('answers unknown routes through a $default route to the not-found function, with no authorizer and no table access', () => {
    const [defaultRoute, ...others] = Object.values(all).filter(
      (r) => r.Type === 'AWS::ApiGatewayV2::Route' && r.Properties.RouteKey === '$default' && onHttpApi(r),
    );
    expect(others).toEqual([]);
    expect(defaultRoute?.Properties).toMatchObject({ AuthorizationType: 'NONE' });
    expect(defaultRoute?.Properties.AuthorizerId).toBeUndefined();
    const target = z
      .object({ 'Fn::Join': z.tuple([z.string(), z.array(z.unknown())]) })
      .parse(defaultRoute?.Properties.Target)['Fn::Join'][1];
    const integrationId = z.object({ Ref: z.string() }).parse(target[1]).Ref;
    const notFoundId = functionIdWithKey(notFoundRoute.routeKey);
    expect(all[integrationId]?.Properties).toMatchObject({
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [notFoundId, 'Arn'] },
    });
    expect(all[notFoundId]?.Properties.Handler).toBe('index.handler');
    // It reads nothing: no DynamoDB (or any other data) statement on its role.
    const actions = statementsOfFunction(notFoundId).flatMap(actionsOf);
    expect(actions.filter((action) => action.startsWith('dynamodb:'))).toEqual([]);
  });

  it.each(routeList.map((route) => route.id as RouteId))(
    'grants %s exactly the DynamoDB actions it calls, Query only on the indexes it reads',
    (routeId) => {
      const expected: Record<string, string[]> = {};
      const tables = {
        inventory: ['VmInventory', INVENTORY_TABLE],
        syncState: ['SyncState', SYNC_STATE_TABLE],
        ownership: ['Ownership', OWNERSHIP_TABLE],
        audit: ['AuditTrail', AUDIT_TABLE],
      } as const;
      for (const [key, access] of Object.entries(ROUTE_TABLE_ACCESS[routeId])) {
        const [table, design] = tables[key as keyof typeof tables];
        const grant = resolveTableGrant(access, design);
        if (grant.actions.length > 0) expected[table] = grant.actions.map((action) => `dynamodb:${action}`);
        for (const index of grant.queriedIndexes) expected[`${table}/index/${index}`] = ['dynamodb:Query'];
      }
      expect(dynamoGrantsOf(routeId)).toEqual(expected);
    },
  );

  it('lets every state-changing route append to the audit trail, and only the audit route read it', () => {
    for (const route of routeList) {
      const grants = dynamoGrantsOf(route.id as RouteId);
      const auditIndexes = Object.keys(grants).filter((key) => key.startsWith('AuditTrail/index/'));
      if (route.id === 'listAudit') {
        expect(grants.AuditTrail).toEqual(['dynamodb:Query']);
        expect(auditIndexes).toHaveLength(3);
      } else {
        expect(grants.AuditTrail, route.id).toEqual(
          route.method === 'GET' ? undefined : ['dynamodb:PutItem'],
        );
        expect(auditIndexes, route.id).toEqual([]);
      }
    }
  });

  it('grants Scan to the unfiltered assignment listing only, and no route DescribeTable or ConditionCheckItem', () => {
    const scanning = routeList
      .map((route) => route.id as RouteId)
      .filter((routeId) => Object.values(dynamoGrantsOf(routeId)).flat().includes('dynamodb:Scan'));
    expect(scanning).toEqual(['listAssignments']);
    expect(dynamoGrantsOf('listAssignments')).toEqual({
      Ownership: ['dynamodb:Query', 'dynamodb:Scan'],
      'Ownership/index/ByVm': ['dynamodb:Query'],
    });
    for (const route of routeList) {
      const actions = Object.values(dynamoGrantsOf(route.id as RouteId)).flat();
      expect(actions, route.id).not.toContain('dynamodb:DescribeTable');
      expect(actions, route.id).not.toContain('dynamodb:ConditionCheckItem');
    }
  });

  it('grants read-only routes no write action and the health route nothing but Query on the sync state', () => {
    const writes = [
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:BatchWriteItem',
    ];
    for (const routeId of [
      'getVm',
      'getSyncStats',
      'getSyncHealth',
      'listAssignments',
      'listClasses',
      'getClass',
    ] as const) {
      const actions = Object.values(dynamoGrantsOf(routeId)).flat();
      expect(
        actions.filter((a) => writes.includes(a)),
        routeId,
      ).toEqual([]);
    }
    expect(dynamoGrantsOf('getSyncHealth')).toEqual({ SyncState: ['dynamodb:Query'] });
    expect(dynamoGrantsOf('getOpenApi')).toEqual({});
  });

  it('keeps read handlers outside the VPC and puts the action handler in the sync VPC', () => {
    for (const route of routeList) {
      const fn = all[functionIdOf(route.id as RouteId)];
      if (route.placement === 'vpc') {
        expect(fn?.Properties.VpcConfig, route.id).toBeDefined();
      } else {
        expect(fn?.Properties.VpcConfig, route.id).toBeUndefined();
      }
    }
  });

  it('gives list-vms InvokeFunction on the sync-cluster function only, and the trigger StartExecution on the two sync machines only', () => {
    const invoke = statementsOf('listVms').filter((s) => actionsOf(s).some((a) => a.startsWith('lambda:')));
    expect(invoke).toHaveLength(1);
    expect(actionsOf(invoke[0] as Statement)).toEqual(['lambda:InvokeFunction']);
    expect(JSON.stringify(invoke[0]?.Resource)).toMatch(/SyncCluster/);
    const start = statementsOf('triggerSync').filter((s) =>
      actionsOf(s).some((a) => a.startsWith('states:')),
    );
    expect(start).toHaveLength(1);
    expect(actionsOf(start[0] as Statement)).toEqual(['states:StartExecution']);
    const machines = z.array(z.unknown()).parse(start[0]?.Resource);
    expect(machines).toHaveLength(2);
    expect(JSON.stringify(machines)).toMatch(/FullSync/);
    expect(JSON.stringify(machines)).toMatch(/QuickSync/);
    for (const routeId of [
      'getVm',
      'getSyncStats',
      'getSyncHealth',
      'listAssignments',
      'importMappings',
    ] as const) {
      const extra = statementsOf(routeId).filter((s) =>
        actionsOf(s).some((a) => a.startsWith('lambda:') || a.startsWith('states:')),
      );
      expect(extra, routeId).toEqual([]);
    }
  });

  it("lets the bulk-action route alone publish to the sync stack's admin alert topic, with exact grants and ALERT_TOPIC_ARN", () => {
    const topic = {
      'Fn::ImportValue': expect.stringMatching(/^PveInventorySync:ExportsOutputRefAlertsTopic/),
    };
    const key = {
      'Fn::ImportValue': expect.stringMatching(/^PveInventorySync:ExportsOutputFnGetAttAlertsKey\w+Arn/),
    };
    const alerting = (s: Statement) => actionsOf(s).some((a) => a.startsWith('sns:') || a.startsWith('kms:'));
    expect(statementsOf('bulkAction').filter(alerting)).toEqual([
      { Effect: 'Allow', Action: 'sns:Publish', Resource: topic },
      { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: key },
    ]);
    const environment = z
      .object({ Environment: z.object({ Variables: z.record(z.string(), z.unknown()) }) })
      .parse(all[functionIdOf('bulkAction')]?.Properties).Environment.Variables;
    expect(environment.ALERT_TOPIC_ARN).toEqual(topic);
    // no other route publishes (the single action's failure is its caller's answer)
    for (const route of routeList) {
      if (route.id === 'bulkAction') continue;
      expect(statementsOf(route.id as RouteId).filter(alerting), route.id).toEqual([]);
    }
  });

  it('gives the action function its wait setting (default 5 s) and refuses one above 10 s at synth', () => {
    const environment = z
      .object({ Environment: z.object({ Variables: z.record(z.string(), z.unknown()) }) })
      .parse(all[functionIdOf('vmAction')]?.Properties).Environment.Variables;
    expect(environment.ACTION_WAIT_SECONDS).toBe('5');
    expect(() => synthApp({ pveInventory: { actionWaitSeconds: 25 } })).toThrow(/actionWaitSeconds/);
  });

  it('hands every handler the same cadence as the sync (staleness cutoff, quick and full periods)', () => {
    for (const routeId of ['listVms', 'getSyncStats', 'getSyncHealth'] as const) {
      const fn = all[functionIdOf(routeId)];
      const env = z
        .object({ Variables: z.record(z.string(), z.unknown()) })
        .parse(fn?.Properties.Environment).Variables;
      expect(env, routeId).toMatchObject({
        FULL_SYNC_MINUTES: '5',
        QUICK_SYNC_SECONDS: '30',
        STALE_AFTER_SECONDS: '600',
      });
    }
  });

  it('alarms on the 5xx rate and the p99 latency, and outputs what the frontend needs', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: Match.stringLikeRegexp('100 \\* errors / requests') }),
      ]),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: [
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ MetricName: 'Latency', Namespace: 'AWS/ApiGateway' }),
            Stat: 'p99',
          }),
        }),
      ],
    });
    const outputs = Object.keys(template.toJSON().Outputs ?? {});
    for (const name of ['ApiUrl', 'Issuer', 'UserPoolId', 'UserPoolClientId', 'DashboardName']) {
      expect(outputs).toContain(name);
    }
  });
});
