import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { AUDIT_ENV } from '#shared/audit/audit-entry.ts';
import { cadenceEnvironment } from '#shared/config/cadence.ts';
import { IDENTITY_ENV } from '#shared/http/identity.ts';
import { type RouteId, routeList } from '#shared/http/routes.ts';
import { type DeploymentConfig, deploymentCadence } from '../config.ts';
import type { AdminAlerts } from '../constructs/admin-alerts.ts';
import { ApiAuth } from '../constructs/api-auth.ts';
import { type ApiHandlerNetwork, ApiHandlers } from '../constructs/api-handlers.ts';
import { ApiHttp } from '../constructs/api-http.ts';
import { ApiMonitoring } from '../constructs/api-monitoring.ts';
import { ClassSchedules } from '../constructs/class-schedules.ts';
import { LiveUpdates } from '../constructs/live-updates.ts';

/** Properties of {@link ApiStack}. */
export interface ApiStackProps extends StackProps {
  readonly config: DeploymentConfig;
  readonly inventoryTable: ITableV2;
  readonly syncStateTable: ITableV2;
  readonly ownershipTable: ITableV2;
  readonly auditTable: ITableV2;
  /** The live updates' table: when given, the WebSocket API and its stream consumer are deployed. */
  readonly liveTable?: ITableV2;
  /** Hook: the network of `vpc` routes (the action handler): the sync stack's VPC and security group. */
  readonly network?: ApiHandlerNetwork;
  /** Hook: the sync-one-cluster function list-vms may invoke for `force_refresh`/`live`. */
  readonly syncClusterFunction?: IFunction;
  /** Hook: the full and quick sync state machines the trigger may start. */
  readonly syncStateMachines?: { readonly full: IStateMachine; readonly quick: IStateMachine };
  /** Hook: extra environment per route (e.g. the action handler's clusters configuration). */
  readonly routeEnvironment?: Partial<Record<RouteId, Readonly<Record<string, string>>>>;
  /** The portal's origin (`https://…`): the only CORS origin besides `config.corsOrigins`. @default - none */
  readonly portalOrigin?: string;
  /** Where the API alarms are sent. @default - no action */
  readonly alarmTopic?: ITopic;
  /**
   * The class schedules' function (in `network`, acting like the action handlers): its extra
   * environment (the clusters configuration). @default - no class schedules
   */
  readonly classSchedules?: { readonly environment: Readonly<Record<string, string>> };
  /**
   * The admin alert topic (the sync stack's): the bulk-action route and the class schedules'
   * function publish failed actions to it (`ALERT_TOPIC_ARN`, exact publish grants).
   * @default - they only log and audit
   */
  readonly adminAlerts?: Pick<AdminAlerts, 'allowPublish'>;
}

/**
 * The Inventory API: login (Cognito or external OIDC), one function per route of the route table,
 * the HTTP API with its JWT authorizer, CORS, access logs and throttling, and its alarms. It only
 * composes constructs.
 */
export class ApiStack extends Stack {
  public readonly auth: ApiAuth;
  public readonly handlers: ApiHandlers;
  public readonly http: ApiHttp;
  public readonly monitoring: ApiMonitoring;
  /** The one function evaluating every class's schedule, and its schedule (when enabled). */
  public readonly classSchedules?: ClassSchedules;
  public readonly live: LiveUpdates | undefined;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config } = props;
    const frontendOrigins = [
      ...(props.portalOrigin === undefined ? [] : [props.portalOrigin]),
      ...config.corsOrigins,
    ];
    this.auth = new ApiAuth(this, 'Auth', {
      oidc: config.oidc,
      adminGroup: config.adminGroup,
      teacherGroup: config.teacherGroup,
      frontendOrigins,
      hostedUiDomainPrefix: config.portal.hostedUiDomainPrefix,
    });
    // Cognito's access tokens carry `username` where its ID tokens carry `cognito:username`.
    const usernameClaims =
      config.usernameClaim === 'cognito:username' ? 'cognito:username,username' : config.usernameClaim;
    const identityEnvironment = {
      [IDENTITY_ENV.usernameClaims]: usernameClaims,
      [IDENTITY_ENV.groupsClaim]: config.groupsClaim,
      [IDENTITY_ENV.adminGroup]: config.adminGroup,
      [IDENTITY_ENV.teacherGroup]: config.teacherGroup,
      // The same cadence the sync function gets: staleness and `is_running` follow it.
      ...cadenceEnvironment(deploymentCadence(config)),
    };
    this.handlers = new ApiHandlers(this, 'Handlers', {
      inventoryTable: props.inventoryTable,
      syncStateTable: props.syncStateTable,
      ownershipTable: props.ownershipTable,
      auditTable: props.auditTable,
      environment: {
        [AUDIT_ENV.retentionDays]: String(config.auditRetentionDays),
        ...identityEnvironment,
      },
      network: props.network,
      syncClusterFunction: props.syncClusterFunction,
      syncStateMachines: props.syncStateMachines,
      routeEnvironment: props.routeEnvironment,
    });
    if (props.classSchedules !== undefined) {
      this.classSchedules = new ClassSchedules(this, 'ClassSchedules', {
        inventoryTable: props.inventoryTable,
        syncStateTable: props.syncStateTable,
        ownershipTable: props.ownershipTable,
        auditTable: props.auditTable,
        network: props.network,
        environment: {
          [AUDIT_ENV.retentionDays]: String(config.auditRetentionDays),
          ...props.classSchedules.environment,
        },
      });
    }
    if (props.adminAlerts !== undefined) {
      props.adminAlerts.allowPublish(this.handlers.functions.bulkAction);
      if (this.classSchedules !== undefined) props.adminAlerts.allowPublish(this.classSchedules.function);
    }
    this.http = new ApiHttp(this, 'Http', {
      routes: routeList,
      functions: Object.fromEntries(
        Object.entries(this.handlers.functions).map(([routeId, fn]) => [routeId, fn.function]),
      ),
      notFoundFunction: this.handlers.notFoundFunction.function,
      authorizer: this.auth.authorizer,
      corsOrigins: frontendOrigins,
    });
    this.monitoring = new ApiMonitoring(this, 'Monitoring', {
      api: this.http.api,
      alarmTopic: props.alarmTopic,
    });

    this.live =
      props.liveTable === undefined
        ? undefined
        : new LiveUpdates(this, 'Live', {
            inventoryTable: props.inventoryTable,
            syncStateTable: props.syncStateTable,
            ownershipTable: props.ownershipTable,
            liveTable: props.liveTable,
            issuer: this.auth.issuer,
            audience: this.auth.audience,
            environment: identityEnvironment,
            ...(props.alarmTopic === undefined ? {} : { alarmTopic: props.alarmTopic }),
          });
    if (this.live !== undefined) {
      new CfnOutput(this, 'LiveUrl', {
        value: this.live.stage.url,
        description: 'WebSocket URL of the live updates (connect with ?token=<ID or access token>)',
      });
    }

    new CfnOutput(this, 'ApiUrl', {
      value: this.http.api.apiEndpoint,
      description: 'Base URL of the HTTP API',
    });
    new CfnOutput(this, 'Issuer', {
      value: this.auth.issuer,
      description: 'Issuer (iss) of accepted tokens',
    });
    if (this.auth.userPool && this.auth.userPoolClient) {
      new CfnOutput(this, 'UserPoolId', { value: this.auth.userPool.userPoolId });
      new CfnOutput(this, 'UserPoolClientId', {
        value: this.auth.userPoolClient.userPoolClientId,
        description: 'Public app client of the frontend (authorization code + PKCE)',
      });
    }
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
  }
}
