import { describe, expect, it } from 'vitest';
import { synthApp } from './helpers.ts';

const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** Statements of every inline policy of a template, flattened. */
function statements(template: { toJSON(): Record<string, unknown> }): Record<string, unknown>[] {
  const resources = (template.toJSON().Resources ?? {}) as Record<
    string,
    { Type: string; Properties?: { PolicyDocument?: { Statement?: Record<string, unknown>[] } } }
  >;
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .flatMap((r) => r.Properties?.PolicyDocument?.Statement ?? []);
}

describe('deployment settings checked at synth', () => {
  it('refuses Cognito callback URLs that are neither https nor localhost, naming the setting', () => {
    expect(() => synthApp({ pveInventory: { corsOrigins: ['http://portal.example.org'] } })).toThrow(
      /pveInventory\.corsOrigins: http:\/\/portal\.example\.org cannot be Cognito callback URLs: use https:\/\//,
    );
    expect(() =>
      synthApp({ pveInventory: { corsOrigins: ['https://portal.example.org', 'http://localhost:5173'] } }),
    ).not.toThrow();
  });

  it('requires proxmoxCidrs when the clusters’ endpoints are host names, and refuses a malformed CIDR', () => {
    expect(() => synthApp({ pveInventory: { proxmoxCidrs: null } })).toThrow(
      /pveInventory\.proxmoxCidrs is required: the endpoints lab-a: pve1\.example\.org/,
    );
    expect(() => synthApp({ pveInventory: { proxmoxCidrs: ['10.20.0.0/33'] } })).toThrow(
      /pveInventory\.proxmoxCidrs\.0: must be a CIDR/,
    );
  });

  it('reserves the configured sync concurrency, none with false, and refuses less than one pass needs', () => {
    const reservedOf = (setting: unknown) => {
      const { stacks, template } = synthApp({ pveInventory: { syncReservedConcurrency: setting } });
      const functions = Object.values(template(stacks.sync).findResources('AWS::Lambda::Function'));
      const sync = functions.find((fn) =>
        String(fn.Properties.Description).includes('syncs one Proxmox cluster'),
      );
      return sync?.Properties.ReservedConcurrentExecutions;
    };
    expect(reservedOf(12)).toBe(12);
    expect(reservedOf(false)).toBeUndefined();
    expect(() => synthApp({ pveInventory: { syncReservedConcurrency: 1 } })).toThrow(
      /pveInventory\.syncReservedConcurrency: 1 is below the 2 clusters one sync pass runs at once/,
    );
  });

  it('grants kms:Decrypt on the token secrets’ key, through Secrets Manager only, to the functions that read tokens', () => {
    const { stacks, template } = synthApp({ pveInventory: { tokenSecretKmsKeyArn: KEY_ARN } });
    const statement = {
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: KEY_ARN,
      Condition: {
        StringEquals: {
          'kms:ViaService': {
            'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']],
          },
        },
      },
    };
    // the sync function; in the API stack the action handler, the bulk action handler and the
    // class-schedules function
    for (const [stack, readers] of [
      [stacks.sync, 1],
      [stacks.api, 3],
    ] as const) {
      // (the other kms statements are the alert publishers' use of the alert topic's own key:
      // record-run in the sync stack; the bulk action and the class schedules in the API stack)
      const kms = statements(template(stack)).filter((s) => JSON.stringify(s.Action).includes('kms:'));
      const decrypt = kms.filter((s) => !JSON.stringify(s.Resource).includes('AlertsKey'));
      expect(decrypt, stack.stackName).toEqual(Array.from({ length: readers }, () => statement));
      expect(kms.length - decrypt.length, stack.stackName).toBe(stack === stacks.sync ? 1 : 2);
    }
    expect(() => synthApp({ pveInventory: { tokenSecretKmsKeyArn: 'alias/pve' } })).toThrow(
      /pveInventory\.tokenSecretKmsKeyArn: must be a KMS key ARN/,
    );
    const { stacks: plain, template: plainTemplate } = synthApp();
    expect(
      statements(plainTemplate(plain.sync)).filter((s) => JSON.stringify(s.Action).includes('kms:')),
    ).toEqual([
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^AlertsKey/), 'Arn'] },
      },
    ]);
  });

  it("sends the API alarms (the live updates' included) to the encrypted alarm topic of the sync stack", () => {
    const { stacks, template } = synthApp();
    const api = template(stacks.api);
    const alarms = Object.values(api.findResources('AWS::CloudWatch::Alarm'));
    // 5xx rate and p99 latency; live consumer errors, stream lag, dead letters, WebSocket integration errors.
    expect(alarms).toHaveLength(6);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([
        { 'Fn::ImportValue': expect.stringMatching(/AlarmTopic/) },
      ]);
    }
  });
});
