import { defineConfig } from 'vitest/config';

/**
 * Integration files that load the one DynamoDB Local hardest (thousands of writes, or a thousand
 * interleavings, or hundreds of stream drains): they run after every other file, one at a time, on a
 * DynamoDB Local of their own (the run's shared one slows down as it serves every other file). On 2
 * cores Vitest runs one file at a time anyway; a project without file parallelism and without a
 * `sequence.groupOrder` is scheduled last.
 */
const HEAVY_INTEGRATION = [
  'test/integration/api/large-list.test.ts',
  'test/integration/actions/action-interleavings.test.ts',
  'test/integration/api/mappings-import-limits.test.ts',
  'test/integration/store/inventory-repository.test.ts',
  'test/integration/live/live-property.test.ts',
];

// One DynamoDB Local serves the run: the integration, e2e and browser projects share a global setup
// that starts it once and publishes its endpoint through `provide`/`inject`; integration-serial has
// its own.
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: HEAVY_INTEGRATION,
          globalSetup: ['test/setup/dynamodb-global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration-serial',
          include: HEAVY_INTEGRATION,
          // a DynamoDB Local of its own, fresh when these files' turn comes
          globalSetup: ['test/setup/dynamodb-own-global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // after every other file, one at a time
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/setup/dynamodb-global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'web',
          include: ['web/test/**/*.test.{ts,tsx}'],
          environment: 'happy-dom',
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          globalSetup: ['test/setup/portal-global-setup.ts', 'test/setup/dynamodb-global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
