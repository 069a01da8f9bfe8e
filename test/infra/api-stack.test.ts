import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ROUTE_TABLE_ACCESS } from '#infra/constructs/api-handlers.ts';
import {
  TABLE_APPEND_ACTIONS,
  TABLE_READ_ACTIONS,
  TABLE_WRITE_ACTIONS,
} from '#infra/constructs/pve-function.ts';
import { type RouteId, routeKey, routeList, routes } from '#shared/http/routes.ts';
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
let oidcTemplate: Template;

beforeAll(() => {
  const { stacks, template: templateOf } = synthApp();
  template = templateOf(stacks.api);
  all = ResourcesSchema.parse(template.toJSON().Resources);
  const oidc = synthApp({
    pveInventory: { oidc: { issuer: 'https://login.example.org/realms/lab', audience: ['portal'] } },
  });
  oidcTemplate = oidc.template(oidc.stacks.api);
});

/** Logical id of a route's function (its description starts with the route key). */
function functionIdOf(routeId: RouteId): string {
  const route = routes[routeId];
  const found = Object.entries(all).filter(
    ([, r]) =>
      r.Type === 'AWS::Lambda::Function' &&
      String(r.Properties.Description).startsWith(`API ${routeKey(route)}:`),
  );
  expect(found, routeId).toHaveLength(1);
  return found[0]?.[0] ?? '';
}

function statementsOf(routeId: RouteId): Statement[] {
  const fn = all[functionIdOf(routeId)];
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

/** `{Inventory|SyncState|Ownership: 'read'|'readWrite'}` granted to a function, from its statements. */
function tableAccessOf(routeId: RouteId): Record<string, string> {
  const access: Record<string, string> = {};
  for (const statement of statementsOf(routeId)) {
    const text = JSON.stringify(statement.Resource);
    const table = /ExportsOutputFnGetAtt(VmInventory|SyncState|Ownership|AuditTrail)/.exec(text)?.[1];
    if (table === undefined) continue;
    const actions = [...actionsOf(statement)].sort();
    if (JSON.stringify(actions) === JSON.stringify([...TABLE_READ_ACTIONS].sort())) access[table] = 'read';
    else if (JSON.stringify(actions) === JSON.stringify([...TABLE_APPEND_ACTIONS].sort())) {
      // Appending only: the table itself, never its indexes.
      access[table] = text.includes('/index/') ? 'append with index access' : 'append';
    } else if (
      JSON.stringify(actions) === JSON.stringify([...TABLE_READ_ACTIONS, ...TABLE_WRITE_ACTIONS].sort())
    )
      access[table] = 'readWrite';
    else access[table] = `unexpected: ${actions.join(',')}`;
  }
  return access;
}

describe('ApiStack', () => {
  it('has one route per entry of the route table, with the JWT authorizer on every jwt route', () => {
    const created = Object.values(all).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route');
    expect(created.map((r) => r.Properties.RouteKey).sort()).toEqual(routeList.map(routeKey).sort());
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
      CallbackURLs: ['http://localhost:3000'],
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
        AllowOrigins: ['http://localhost:3000'],
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
    const integrations = Object.values(all).filter((r) => r.Type === 'AWS::ApiGatewayV2::Integration');
    expect(integrations).toHaveLength(routeList.length);
    for (const integration of integrations) {
      expect(integration.Properties).toMatchObject({
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
      });
    }
    const ids = new Set(routeList.map((route) => functionIdOf(route.id as RouteId)));
    expect(ids.size).toBe(routeList.length);
  });

  it.each(routeList.map((route) => route.id as RouteId))(
    'grants %s exactly the tables it uses',
    (routeId) => {
      const expected: Record<string, string> = {};
      const names = {
        inventory: 'VmInventory',
        syncState: 'SyncState',
        ownership: 'Ownership',
        audit: 'AuditTrail',
      } as const;
      for (const [key, access] of Object.entries(ROUTE_TABLE_ACCESS[routeId])) {
        expected[names[key as keyof typeof names]] = access;
      }
      expect(tableAccessOf(routeId)).toEqual(expected);
    },
  );

  it('lets every state-changing route append to the audit trail, and only the audit route read it', () => {
    for (const route of routeList) {
      const audit = tableAccessOf(route.id as RouteId).AuditTrail;
      if (route.id === 'listAudit') expect(audit).toBe('read');
      else expect(audit, route.id).toBe(route.method === 'GET' ? undefined : 'append');
    }
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
