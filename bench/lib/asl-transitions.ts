/**
 * Counts the Step Functions state transitions of one execution of a state machine definition (ASL),
 * for the cost model: every state entered is one billed transition, including the states of each
 * Map iteration. Follows the success path (Choice: `Default`, else its first rule). Pure.
 */

/** Thrown when a definition cannot be walked (a missing state, or a loop without an end). */
export class UnwalkableDefinitionError extends Error {
  override readonly name = 'UnwalkableDefinitionError';
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const MAX_STEPS = 10_000;

/** Transitions of one run of `definition` when every Map iterates over `mapItems` items. */
export function countTransitions(definition: unknown, mapItems: number): number {
  if (!isObject(definition) || typeof definition.StartAt !== 'string' || !isObject(definition.States)) {
    throw new UnwalkableDefinitionError('not a state machine definition (StartAt and States needed)');
  }
  const states = definition.States;
  let name: string | undefined = definition.StartAt;
  let count = 0;
  for (let steps = 0; name !== undefined; steps += 1) {
    if (steps >= MAX_STEPS) throw new UnwalkableDefinitionError('the success path does not end');
    const state = states[name];
    if (!isObject(state)) throw new UnwalkableDefinitionError(`state '${name}' is not defined`);
    count += 1;
    const type = state.Type;
    if (type === 'Map') {
      const processor = state.ItemProcessor ?? state.Iterator;
      count += mapItems * countTransitions(processor, mapItems);
    } else if (type === 'Parallel' && Array.isArray(state.Branches)) {
      for (const branch of state.Branches) count += countTransitions(branch, mapItems);
    }
    if (type === 'Succeed' || type === 'Fail' || state.End === true) break;
    if (type === 'Choice') {
      const first = Array.isArray(state.Choices) ? state.Choices[0] : undefined;
      const next: unknown = state.Default ?? (isObject(first) ? first.Next : undefined);
      name = typeof next === 'string' ? next : undefined;
    } else {
      name = typeof state.Next === 'string' ? state.Next : undefined;
    }
  }
  return count;
}
