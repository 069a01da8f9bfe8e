import type { Browser, BrowserContext, Page } from 'playwright-core';

/**
 * Signs a demo user in to the portal the way a person does (code + PKCE through the local
 * issuer's sign-in page) in a fresh browser context; shared by the browser tests and the portal
 * benchmark.
 */

/** Where and how large the first page opens. */
export interface SignInOptions {
  /** the portal path to open first (default `/`) */
  readonly path?: string;
  /** the window size (default 1,440 × 900) */
  readonly viewport?: { readonly width: number; readonly height: number };
}

/** Opens `path` in a new context, picks `username` on the issuer's sign-in page, and waits until the portal greets them. */
export async function signIn(
  browser: Browser,
  portalUrl: string,
  username: string,
  options: SignInOptions = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1440, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${portalUrl}${options.path ?? '/'}`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 180_000 });
  await page.getByRole('button', { name: username, exact: true }).click();
  await page.getByText(`Signed in as ${username}`).waitFor({ timeout: 180_000 });
  return { context, page };
}
