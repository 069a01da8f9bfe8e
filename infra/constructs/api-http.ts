import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpRoute,
  HttpRouteKey,
  type IHttpRouteAuthorizer,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { API_CORS, notFoundRoute, type RouteDefinition } from '#shared/http/routes.ts';

/** Properties of {@link ApiHttp}. */
export interface ApiHttpProps {
  /** The route table. */
  readonly routes: readonly RouteDefinition[];
  /** The function of each route, by route id. */
  readonly functions: Readonly<Record<string, IFunction>>;
  /** The catch-all function of the `$default` route (unknown routes: the documented 404). */
  readonly notFoundFunction: IFunction;
  /** The authorizer of `jwt` routes. */
  readonly authorizer: IHttpRouteAuthorizer;
  /** Allowed CORS origins. */
  readonly corsOrigins: readonly string[];
  /** Steady-state requests per second of the stage. @default 200 */
  readonly throttleRateLimit?: number;
  /** Burst of the stage. @default 400 */
  readonly throttleBurstLimit?: number;
}

/**
 * The HTTP API, built from the route table: payload 2.0 Lambda integrations, the JWT authorizer on
 * every `jwt` route, a `$default` route answering unknown routes in the API's error shape, CORS
 * answered by API Gateway, the default stage with JSON access logs and throttling.
 */
export class ApiHttp extends Construct {
  public readonly api: HttpApi;
  public readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: ApiHttpProps) {
    super(scope, id);
    this.api = new HttpApi(this, 'HttpApi', {
      description: 'pve-inventory: VM inventory, sync status, power actions and ownership',
      createDefaultStage: false,
      // No origin configured (no portal, no extra origin): no browser may call the API cross-origin.
      ...(props.corsOrigins.length === 0
        ? {}
        : {
            corsPreflight: {
              allowOrigins: [...props.corsOrigins],
              allowMethods: API_CORS.allowMethods.map((method) => CorsHttpMethod[method]),
              allowHeaders: [...API_CORS.allowHeaders],
              exposeHeaders: [...API_CORS.exposeHeaders],
              maxAge: Duration.seconds(API_CORS.maxAgeSeconds),
            },
          }),
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit ?? 200, burstLimit: props.throttleBurstLimit ?? 400 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            integrationLatency: '$context.integrationLatency',
            latency: '$context.responseLatency',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
            user: '$context.authorizer.claims.sub',
          }),
        ),
      },
    });

    for (const route of props.routes) {
      const fn = props.functions[route.id];
      if (fn === undefined) throw new MissingRouteFunctionError(`no function for route ${route.id}`);
      const routes = this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${route.id}Integration`, fn),
        authorizer: route.auth === 'jwt' ? props.authorizer : new HttpNoneAuthorizer(),
      });
      if (route.auth === 'public') {
        for (const created of routes) {
          Validations.of(created).acknowledge({
            id: 'AwsSolutions-APIG4',
            reason: `${route.method} ${route.path} is public by design (issue 5): ${route.summary}`,
          });
        }
      }
    }

    // Unknown routes: API Gateway's own answer would be `{"message":"Not Found"}`, not the API's
    // error shape. CORS preflights stay API Gateway's (it answers them before any route).
    const notFound = new HttpRoute(this, 'NotFoundRoute', {
      httpApi: this.api,
      routeKey: HttpRouteKey.DEFAULT,
      integration: new HttpLambdaIntegration(`${notFoundRoute.id}Integration`, props.notFoundFunction),
      authorizer: new HttpNoneAuthorizer(),
    });
    Validations.of(notFound).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'The $default route only answers 404 not_found for requests no route matches; it reads no data and names nothing but the request method and path, so an authorizer would only hide that the route does not exist behind a 401.',
    });
  }
}

/** A route of the table has no function. */
export class MissingRouteFunctionError extends Error {
  override readonly name = 'MissingRouteFunctionError';
}
