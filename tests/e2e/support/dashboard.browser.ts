import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';

/** Debian's chromium: the browser CI has (playwright's own downloads need the internet). */
const CHROMIUM = '/usr/bin/chromium';

/** Headless chromium with nothing of its own going to the network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * A page that records what it should not do: console errors (unless `expected` claims them), uncaught
 * exceptions and Content-Security-Policy violations. A test asserts `problems` is empty.
 */
export async function watchedPage(
  browser: Browser,
  expected: (message: ConsoleMessage) => boolean = () => false,
): Promise<{ page: Page; problems: string[] }> {
  const problems: string[] = [];
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (message) => {
    if (message.type() === 'error' && !expected(message)) problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  // Injected by the browser itself, so the page's CSP does not apply to it.
  await page.addInitScript(`document.addEventListener('securitypolicyviolation', (event) => {
    console.error('CSP violation: ' + event.violatedDirective + ' ' + event.blockedURI);
  });`);
  return { page, problems };
}
