import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { handler as openapiHandler } from '#functions/api/openapi.ts';
import { createLambdaContext } from '#local/gateway/server.ts';
import { httpHandler } from '#shared/http/middleware.ts';
import { routeList, routes } from '#shared/http/routes.ts';
import { badInputArbitrary, badInputEvent, checkBadInputResponse } from '../../helpers/bad-input.ts';

const adminClaims = { 'cognito:username': 'dave', 'cognito:groups': '[admins]' };
const context = () => createLambdaContext('test', 'req', Date.now() + 30_000);

describe('bad-input property helper', () => {
  it('drives the real OpenAPI handler: noise never makes it fail', async () => {
    await fc.assert(
      fc.asyncProperty(badInputArbitrary(routes.getOpenApi), async (testCase) => {
        const response = await openapiHandler(badInputEvent(testCase), context());
        expect(
          checkBadInputResponse(testCase, response.statusCode ?? 500, String(response.body ?? '')),
        ).toBeNull();
        expect(response.statusCode).toBe(200);
      }),
      { numRuns: 100 },
    );
  });

  it.each(routeList.map((route) => [route.id, route] as const))(
    '%s with a validation-only handler: never a 5xx, every 400 names the bad field',
    async (_, route) => {
      const handler = httpHandler({ route, handler: async () => ({ status: 200, body: { ok: true } }) });
      await fc.assert(
        fc.asyncProperty(badInputArbitrary(route), async (testCase) => {
          const response = await handler(badInputEvent(testCase, adminClaims), context());
          expect(
            checkBadInputResponse(testCase, response.statusCode ?? 500, String(response.body ?? '')),
          ).toBeNull();
        }),
        { numRuns: 200 },
      );
    },
  );

  it('generates cases that really are bad: an unvalidated 200 or any 5xx fails the check', () => {
    const [testCase] = fc.sample(
      badInputArbitrary(routes.vmAction).filter((c) => c.expectedField !== null),
      { numRuns: 1, seed: 7 },
    );
    if (testCase === undefined) throw new Error('no case generated');
    expect(checkBadInputResponse(testCase, 200, '{"ok":true}')).toMatch(/expected 400/);
    expect(checkBadInputResponse(testCase, 400, '{"error":{"details":[{"field":"other"}]}}')).toMatch(/not /);
    expect(checkBadInputResponse({ ...testCase, expectedField: null }, 502, '')).toMatch(/502/);
  });
});
