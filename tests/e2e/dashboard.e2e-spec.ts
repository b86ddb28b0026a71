import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ROOT, withStack } from '@aiplane/testing';
import { launchChromium, watchedPage } from './support/dashboard.browser';

// Issue 12, item 2: the dashboard the gateway serves at /ui/, driven in Debian's chromium through
// every feature a researcher uses, with the whole stack behind it (local executor, vLLM simulator).
const SHOTS = join(ROOT, 'tmp', 'dashboard');
const TOKEN_LATENCY_MS = 30;
const MAX_TOKENS = 60;

/** The refused creates the page logged: the test provokes exactly one. */
const refusedCreates: string[] = [];

/** Every change of the reply while it streams, seen from inside the page: [ms since send, length]. */
const WATCH_REPLY = `new Promise((resolve, reject) => {
  const seen = [];
  const started = performance.now();
  const selector = 'output[aria-label="Reply being generated"]';
  const observer = new MutationObserver(() => {
    const output = document.querySelector(selector);
    if (output) {
      const length = output.textContent.length;
      if (seen.length === 0 || seen[seen.length - 1][1] !== length) seen.push([performance.now() - started, length]);
    } else if (seen.length > 0) {
      observer.disconnect();
      resolve(seen);
    }
  });
  observer.observe(document.body, { subtree: true, childList: true, characterData: true });
  setTimeout(() => reject(new Error('the reply did not finish within 30 s; saw ' + JSON.stringify(seen))), 30000);
})`;

describe('the dashboard in a real browser (local executor)', () => {
  const suite = withStack(() => ({ label: 'dashboard', scheduler: 'local', ports: { gateway: 0 } }));
  let browser: Browser;
  let page: Page;
  /** What the page reported that it should not have: console errors, uncaught exceptions, CSP violations. */
  let problems: string[] = [];

  const shot = async (name: string): Promise<void> => {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    browser = await launchChromium();
    // The browser logs every 4xx fetch as an error; the test provokes exactly one, the refused create.
    ({ page, problems } = await watchedPage(browser, (message) => {
      const refusedCreate =
        message.text().includes('status of 400') &&
        new URL(message.location().url, 'http://x').pathname === '/api/v1/services';
      if (refusedCreate) refusedCreates.push(`console: ${message.text()}`);
      return refusedCreate;
    }));
  });

  afterAll(async () => {
    await browser.close();
  });

  afterEach(() => {
    expect(problems).toEqual([]);
  });

  it('is built to files with no inline script, served with the strict CSP', async () => {
    const response = await fetch(`${suite.stack.gatewayUrl}/ui/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await response.text();
    const scripts = html.match(/<script\b[^>]*>/g) ?? [];
    expect(scripts.length).toBeGreaterThan(0);
    expect(scripts.every((tag) => / src="\/ui\/assets\/[^"]+\.js"/.test(tag))).toBe(true);
    expect(html).not.toMatch(/<script\b[^>]*>[^<]+<\/script>/);
    expect(html).not.toMatch(/<style\b|\sstyle="/);
  });

  it('creates a service from the form, sees it run, reads its logs and charts, chats, cancels it', async () => {
    await page.goto(`${suite.stack.gatewayUrl}/ui/`);
    await page.getByRole('heading', { name: 'Create a service' }).waitFor();
    await page.getByLabel('Recipe').selectOption('inference/vllm-single-node');
    // The resources come from the recipe's defaults.
    expect(await page.getByRole('textbox', { name: 'GPUs', exact: true }).inputValue()).toBe('4');

    // A bad variable name is explained at its row and blocks the create.
    await page.getByRole('button', { name: 'Add variable' }).click();
    await page.getByRole('combobox', { name: 'Variable name 1' }).fill('1BAD');
    await page.getByText('A variable name starts with a letter or _').waitFor();
    expect(await page.getByRole('button', { name: 'Create service' }).isDisabled()).toBe(true);
    await page.getByRole('combobox', { name: 'Variable name 1' }).fill('SIM_TOKEN_LATENCY_MS');
    await page.getByRole('textbox', { name: 'Variable value 1' }).fill(String(TOKEN_LATENCY_MS));

    // What only the gateway knows is wrong comes back as its message, next to the form.
    await page.getByRole('textbox', { name: 'Memory' }).fill('lots');
    await page.getByRole('button', { name: 'Create service' }).click();
    const refusal = page.getByRole('alert').filter({ hasText: 'Not created' });
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(/memory/i);
    expect(refusedCreates).toHaveLength(1);
    await shot('01-refused');

    await page.getByRole('textbox', { name: 'Memory' }).fill('2G');
    await page.getByRole('textbox', { name: 'GPUs', exact: true }).fill('0');
    await page.getByRole('button', { name: 'Create service' }).click();
    const created = page.getByRole('status').filter({ hasText: 'Created' });
    await created.waitFor();
    const [, name = '', id = ''] =
      /Created (\S+) \(id (\d+)\)/.exec((await created.textContent()) ?? '') ?? [];
    expect(id).toMatch(/^\d+$/);
    expect(await page.getByRole('alert').count()).toBe(0);

    const card = page.getByRole('article', { name: `Service ${name}` });
    await card.waitFor();
    await shot('02-created');
    await card
      .locator('.badge', { hasText: /^running$/ })
      .first()
      .waitFor({ timeout: 90_000 });
    expect(await card.getByRole('list', { name: 'Timeline' }).textContent()).toMatch(/Ready(?!\s*—)/);
    await shot('03-running');

    await card.getByRole('button', { name: `Open ${name}` }).click();
    await page.getByRole('heading', { name, exact: true }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/ui/services/${id}`);
    const logs = page.getByRole('log', { name: 'Service logs' });
    await logs.filter({ hasText: '=== STDOUT ===' }).waitFor();
    expect(await logs.textContent()).not.toBe('(no output yet)');
    for (const chart of ['Requests chart', 'Generation tokens per second chart', 'KV-cache use chart']) {
      await page.getByRole('figure', { name: chart }).locator('canvas').first().waitFor();
    }

    // The reply grows bit by bit: many lengths, spread over the generation, before it is complete.
    await page.getByRole('textbox', { name: 'Message' }).fill('Tell me a long story');
    await page.getByRole('textbox', { name: 'Max tokens' }).fill(String(MAX_TOKENS));
    const watching = page.evaluate<[number, number][]>(WATCH_REPLY);
    await page.getByRole('button', { name: 'Send' }).click();
    const seen = await watching;
    const lengths = seen.map(([, length]) => length);
    expect(lengths.length).toBeGreaterThanOrEqual(5);
    expect(lengths.every((length, index) => index === 0 || length > (lengths[index - 1] ?? 0))).toBe(true);
    const [firstAt = 0] = seen[0] ?? [];
    const [lastAt = 0] = seen[seen.length - 1] ?? [];
    expect(lastAt - firstAt).toBeGreaterThan((MAX_TOKENS - 1) * TOKEN_LATENCY_MS * 0.5);
    const transcript = page.getByRole('list', { name: 'Conversation' });
    const reply = transcript.locator('li.assistant').last();
    expect(((await reply.textContent()) ?? '').length).toBeGreaterThanOrEqual(
      lengths[lengths.length - 1] ?? 1,
    );
    console.log(
      `dashboard chat: ${String(lengths.length)} growing lengths over ${Math.round(lastAt - firstAt)} ms, final ${String(lengths[lengths.length - 1])} chars`,
    );

    // The tokens just generated show up as a rate on the next scrapes.
    await page
      .getByRole('figure', { name: 'Generation tokens per second chart' })
      .locator('.latest')
      .filter({ hasText: /^tokens\/s (?!0\.00 )[0-9.]+ tokens\/s$/ })
      .waitFor({ timeout: 15_000 });
    await shot('04-chat-and-metrics');

    await page.getByRole('button', { name: 'Cancel service' }).click();
    await page.getByRole('group', { name: 'Confirm cancel' }).waitFor();
    await page.getByRole('button', { name: 'Yes, cancel the service' }).click();
    const detail = page.locator('section.detail');
    await detail
      .locator('.badge', { hasText: /^cancelled$/ })
      .first()
      .waitFor({ timeout: 30_000 });
    await shot('05-cancelled');

    await page.getByRole('link', { name: 'All services' }).click();
    await card
      .locator('.badge', { hasText: /^cancelled$/ })
      .first()
      .waitFor();
    // The timeline ends when the cancel is recorded, not only when a poll next sees the job.
    expect(await card.getByRole('list', { name: 'Timeline' }).textContent()).toMatch(/Ended(?!\s*—)/);
    expect(refusedCreates).toHaveLength(1);
    const status = await suite.api<{ status: string }>('GET', `/api/v1/services/${id}/status`);
    expect(status.body.status).toBe('cancelled');
  });
});
