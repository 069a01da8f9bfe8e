import type { RouteDefinition } from '#shared/http/routes.ts';

/**
 * Route matching as API Gateway HTTP APIs do it: a route's path parameters match exactly one
 * non-empty segment, a greedy `{name+}` the rest; when several routes match, the one with more
 * literal segments (earlier) wins. No match, or no route for the method, is a 404.
 */

/** A matched route with its decoded path parameters. */
export interface RouteMatch<TRoute extends Pick<RouteDefinition, 'method' | 'path'>> {
  readonly route: TRoute;
  readonly pathParameters: Record<string, string>;
}

type Segment =
  | { kind: 'literal'; value: string }
  | { kind: 'param'; name: string }
  | { kind: 'greedy'; name: string };

interface CompiledRoute<TRoute> {
  readonly route: TRoute;
  readonly method: string;
  readonly segments: readonly Segment[];
}

function compile(path: string): Segment[] {
  return path
    .split('/')
    .slice(1)
    .map((part): Segment => {
      const greedy = /^\{([A-Za-z0-9_]+)\+\}$/.exec(part);
      if (greedy?.[1] !== undefined) return { kind: 'greedy', name: greedy[1] };
      const param = /^\{([A-Za-z0-9_]+)\}$/.exec(part);
      if (param?.[1] !== undefined) return { kind: 'param', name: param[1] };
      return { kind: 'literal', value: part };
    });
}

const decode = (segment: string): string => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};

function matchSegments(
  segments: readonly Segment[],
  parts: readonly string[],
): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (let index = 0; index < segments.length; index += 1) {
    const segment = segments[index];
    if (segment === undefined) return null;
    if (segment.kind === 'greedy') {
      const rest = parts.slice(index);
      if (rest.length === 0 || rest.join('/') === '') return null;
      params[segment.name] = rest.map(decode).join('/');
      return params;
    }
    const part = parts[index];
    if (part === undefined) return null;
    if (segment.kind === 'literal') {
      if (part !== segment.value) return null;
    } else {
      if (part === '') return null;
      params[segment.name] = decode(part);
    }
  }
  return parts.length === segments.length ? params : null;
}

/** Specificity: literal segments before parameters before greedy ones, compared left to right. */
function compareSpecificity(a: readonly Segment[], b: readonly Segment[]): number {
  const rank = (segment: Segment | undefined): number =>
    segment === undefined ? 3 : segment.kind === 'literal' ? 0 : segment.kind === 'param' ? 1 : 2;
  for (let index = 0; index < Math.max(a.length, b.length); index += 1) {
    const difference = rank(a[index]) - rank(b[index]);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** Compiles routes into a matcher `(method, rawPath) → match | null`. */
export function createRouteMatcher<TRoute extends Pick<RouteDefinition, 'method' | 'path'>>(
  routes: readonly TRoute[],
): (method: string, rawPath: string) => RouteMatch<TRoute> | null {
  const compiled: CompiledRoute<TRoute>[] = routes
    .map((route) => ({ route, method: route.method.toUpperCase(), segments: compile(route.path) }))
    .sort((a, b) => compareSpecificity(a.segments, b.segments));
  return (method, rawPath) => {
    const parts = rawPath.split('/').slice(1);
    const wanted = method.toUpperCase();
    for (const candidate of compiled) {
      if (candidate.method !== wanted && candidate.method !== 'ANY') continue;
      const params = matchSegments(candidate.segments, parts);
      if (params !== null) return { route: candidate.route, pathParameters: params };
    }
    return null;
  };
}
