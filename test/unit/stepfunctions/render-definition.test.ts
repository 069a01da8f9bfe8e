import { describe, expect, it } from 'vitest';
import { renderDefinition, StateMachineNotFoundError } from '#local/stepfunctions/render-definition.ts';
import { InvalidDefinitionError } from '#local/stepfunctions/validate-definition.ts';

function templateWith(definitionString: unknown, extra: Record<string, unknown> = {}) {
  return {
    Resources: {
      WorkerFn1234: { Type: 'AWS::Lambda::Function', Properties: {} },
      MachineABCD1234: {
        Type: 'AWS::StepFunctions::StateMachine',
        Properties: { DefinitionString: definitionString, ...extra },
      },
      OtherBucket: { Type: 'AWS::S3::Bucket' },
    },
  };
}

describe('renderDefinition', () => {
  it('joins Fn::Join parts and replaces GetAtt ARNs and the partition with placeholders', () => {
    const template = templateWith({
      'Fn::Join': [
        '',
        [
          '{"StartAt":"Work","States":{"Work":{"Type":"Task","Resource":"',
          { 'Fn::GetAtt': ['WorkerFn1234', 'Arn'] },
          '","Comment":"',
          { Ref: 'AWS::Partition' },
          '","End":true}}}',
        ],
      ],
    });

    const definition = renderDefinition(template, 'Machine');

    expect(definition.States.Work).toEqual({
      Type: 'Task',
      Resource: 'arn:aws:lambda:us-east-1:123456789012:function:WorkerFn1234',
      Comment: 'aws',
      End: true,
    });
  });

  it('resolves Fn::Sub (with its literal escape) and DefinitionSubstitutions', () => {
    const template = templateWith(
      {
        'Fn::Sub': [
          `{"StartAt":"Work","States":{"Work":{"Type":"Task","Resource":"\${!fn}","Comment":"\${AWS::Region}/\${Bucket}","End":true}}}`,
          { Bucket: { Ref: 'OtherBucket' } },
        ],
      },
      { DefinitionSubstitutions: { fn: { 'Fn::GetAtt': 'WorkerFn1234.Arn' } } },
    );

    const definition = renderDefinition(template, 'MachineABCD1234');

    expect(definition.States.Work).toMatchObject({
      Resource: 'arn:aws:lambda:us-east-1:123456789012:function:WorkerFn1234',
      Comment: 'us-east-1/OtherBucket',
    });
  });

  it('names the missing state machine', () => {
    expect(() => renderDefinition(templateWith('{}'), 'Nope')).toThrow(StateMachineNotFoundError);
  });

  it('rejects a definition that is not valid ASL', () => {
    expect(() => renderDefinition(templateWith('{"StartAt":"Missing","States":{}}'), 'Machine')).toThrow(
      InvalidDefinitionError,
    );
  });
});
