import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  executionArnOf,
  localExecutionStarter,
  StartExecutionError,
  sfnExecutionStarter,
} from '#shared/trigger/execution-starter.ts';

const arns = {
  full: 'arn:aws:states:eu-west-1:123456789012:stateMachine:FullSync',
  quick: 'arn:aws:states:eu-west-1:123456789012:stateMachine:QuickSync',
};
const sfn = mockClient(SFNClient);

afterEach(() => {
  sfn.reset();
});

describe('sfnExecutionStarter', () => {
  it('starts the mode’s state machine under the given name with the ListClusters input', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec', startDate: new Date() });
    const starter = sfnExecutionStarter(new SFNClient({}), arns);
    expect(await starter.start('full', 'manual-full-all-20261125T220000', { mode: 'full' })).toEqual({
      executionArn: 'arn:exec',
      started: true,
    });
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toEqual({
      stateMachineArn: arns.full,
      name: 'manual-full-all-20261125T220000',
      input: '{"mode":"full"}',
    });
  });

  it('treats ExecutionAlreadyExists as the coalesced execution (202 with it)', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    const starter = sfnExecutionStarter(new SFNClient({}), arns);
    expect(
      await starter.start('full', 'manual-full-lab-a-20261125T220000', { mode: 'full', cluster_id: 'lab-a' }),
    ).toEqual({
      executionArn:
        'arn:aws:states:eu-west-1:123456789012:execution:FullSync:manual-full-lab-a-20261125T220000',
      started: false,
    });
  });

  it('wraps any other failure in StartExecutionError naming only the error kind', async () => {
    const denied = new Error('User is not authorized to perform states:StartExecution on arn:…');
    denied.name = 'AccessDeniedException';
    sfn.on(StartExecutionCommand).rejects(denied);
    const starter = sfnExecutionStarter(new SFNClient({}), arns);
    const error = await starter.start('quick', 'n', { mode: 'quick' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StartExecutionError);
    expect((error as Error).message).toBe('cannot start the quick sync: AccessDeniedException');
  });

  it('asks DescribeExecution whether a full sync still runs, and never for the Express quick sync', async () => {
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });
    const starter = sfnExecutionStarter(new SFNClient({}), arns);
    expect(await starter.isRunning('full', 'arn:exec')).toBe(true);
    sfn.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED' });
    expect(await starter.isRunning('full', 'arn:exec')).toBe(false);
    expect(await starter.isRunning('quick', 'arn:exec')).toBeNull();
    expect(sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(2);
    const denied = new Error('not authorized to perform states:DescribeExecution');
    denied.name = 'AccessDeniedException';
    sfn.on(DescribeExecutionCommand).rejects(denied);
    expect(await starter.isRunning('full', 'arn:exec')).toBeNull();
  });

  it('derives a Standard execution ARN from the state machine ARN', () => {
    expect(executionArnOf(arns.quick, 'x')).toBe(
      'arn:aws:states:eu-west-1:123456789012:execution:QuickSync:x',
    );
  });
});

describe('localExecutionStarter', () => {
  it('starts on the local runner once per name and tells whether it still runs', async () => {
    const runs: { mode: string; options: unknown }[] = [];
    const execution = {
      arn: 'arn:aws:states:local:000000000000:execution:full:n1',
      finishedAt: null as number | null,
    };
    const starter = localExecutionStarter({
      start(mode, options) {
        runs.push({ mode, options });
        return execution;
      },
    });
    expect(await starter.start('full', 'n1', { mode: 'full', cluster_id: 'lab-a' })).toEqual({
      executionArn: execution.arn,
      started: true,
    });
    expect(await starter.start('full', 'n1', { mode: 'full', cluster_id: 'lab-a' })).toEqual({
      executionArn: execution.arn,
      started: false,
    });
    expect(runs).toEqual([{ mode: 'full', options: { name: 'n1', clusterId: 'lab-a' } }]);
    expect(await starter.isRunning('full', execution.arn)).toBe(true);
    execution.finishedAt = 1;
    expect(await starter.isRunning('full', execution.arn)).toBe(false);
    expect(await starter.isRunning('full', 'unknown')).toBeNull();
  });
});
