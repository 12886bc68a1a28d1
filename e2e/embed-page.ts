/**
 * Pages around the embed widget for the browser tests: a blog served by the test that frames the widget from another
 * site.
 */
import type { Page } from '@playwright/test';

/** The widget on localhost: another site than the tests' 127.0.0.1, so it is framed cross-site. */
export function widgetUrl(baseURL: string, params: string): string {
  return new URL(`./embed.html?${params}`, baseURL.replace('127.0.0.1', 'localhost')).href;
}

/** Serves `html` as the main content of a page at `url` (no server behind it), with `headers`. */
export async function servePage(
  page: Page,
  url: string,
  html: string,
  headers: Record<string, string> = {},
): Promise<void> {
  await page.context().route(url, (route) =>
    route.fulfill({
      contentType: 'text/html',
      headers,
      body: `<!doctype html><html lang="en"><head><title>A blog</title></head><body><main>${html}</main></body></html>`,
    }),
  );
}

/**
 * The blog pages are served by the test (no server behind them), so Chromium counts them as public
 * sites and its Local Network Access checks would block their frames' navigation to this machine;
 * fetching the widget's page through the test, headers unchanged, is what a public host looks like.
 */
export async function passThrough(page: Page, baseURL: string): Promise<void> {
  const widgetOrigin = new URL(widgetUrl(baseURL, '')).origin;
  await page.context().route(
    (url) => url.origin === widgetOrigin && url.pathname === '/embed.html',
    async (route) => route.fulfill({ response: await route.fetch() }),
  );
}
