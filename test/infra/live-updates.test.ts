import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthApp } from './helpers.ts';

/**
 * The live updates in the synthesized app: the WebSocket API authorizes at `$connect` with the JWT
 * REQUEST authorizer, the stream consumer reads the three synced tables' streams with partial batch
 * failures and a DLQ, every function gets exactly its grants, and the alarms exist.
 */

let api: Template;
let data: Template;

beforeAll(() => {
  const { stacks, template } = synthApp();
  api = template(stacks.api);
  data = template(stacks.data);
});

describe('live updates', () => {
  it('streams the inventory, sync-state and ownership tables, and keeps connections with TTL', () => {
    const tables = Object.values(data.findResources('AWS::DynamoDB::GlobalTable'));
    const streamed = tables.filter(
      (table) => table.Properties.StreamSpecification?.StreamViewType === 'NEW_AND_OLD_IMAGES',
    );
    expect(streamed).toHaveLength(3);
    data.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    });
  });

  it('serves a WebSocket API whose $connect is authorized by the token REQUEST authorizer', () => {
    api.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.action',
    });
    api.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      IdentitySource: ['route.request.querystring.token'],
    });
    api.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: '$connect',
      AuthorizationType: 'CUSTOM',
    });
    for (const key of ['$disconnect', '$default'])
      api.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: key, AuthorizationType: 'NONE' });
    api.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'prod',
      AccessLogSettings: { Format: Match.not(Match.stringLikeRegexp('querystring')) },
    });
  });

  it('consumes the three streams with partial batch failures, retries and a dead-letter queue', () => {
    const mappings = Object.values(api.findResources('AWS::Lambda::EventSourceMapping'));
    expect(mappings).toHaveLength(3);
    for (const mapping of mappings) {
      expect(mapping.Properties).toMatchObject({
        StartingPosition: 'LATEST',
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        MaximumRetryAttempts: 3,
        BisectBatchOnFunctionError: true,
        DestinationConfig: { OnFailure: { Destination: expect.anything() } },
        MaximumBatchingWindowInSeconds: 2,
      });
    }
    api.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
  });

  it('lets the live functions post to connections, and alarms on errors, lag and dead letters', () => {
    const policies = Object.values(api.findResources('AWS::IAM::Policy'));
    const manage = policies.filter((policy) =>
      JSON.stringify(policy.Properties.PolicyDocument).includes('execute-api:ManageConnections'),
    );
    expect(manage).toHaveLength(3);
    const alarms = Object.values(api.findResources('AWS::CloudWatch::Alarm')).map(
      (alarm) => alarm.Properties.AlarmDescription as string,
    );
    expect(alarms).toEqual(
      expect.arrayContaining([
        expect.stringContaining('stream consumer failed'),
        expect.stringContaining('lag'),
        expect.stringContaining('gave up'),
        expect.stringContaining('WebSocket'),
      ]),
    );
  });
});
