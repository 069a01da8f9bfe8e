import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/**
 * Playwright drives Debian's Chromium (browser downloads are not reachable here): the executable
 * from CHROMIUM_PATH or /usr/bin/chromium. Missing, the tests fail with the install command.
 */

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Chromium is not installed where the browser tests look for it. */
export class ChromiumMissingError extends Error {
  override readonly name = 'ChromiumMissingError';
}

/** Launches headless Chromium, or fails naming the install command. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new ChromiumMissingError(
      `Chromium not found at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH)`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true });
}
