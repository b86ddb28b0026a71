import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ROOT, waitForStatus, withStack } from '@aiplane/testing';
import { launchChromium, watchedPage } from './support/dashboard.browser';

/** Screenshots of the dashboard's cards on real SLURM (issue 12 item 2), beside the local run's. */
const SHOTS = join(ROOT, 'tmp', 'dashboard-slurm');

interface Queue {
  position: number | null;
  reason: string | null;
  estimated_start: string | null;
}

interface Entry {
  id: string;
  status: string;
  queue?: Queue;
  node_jobs?: { job_id: string; queue?: Queue }[];
  timeline?: Timeline;
}

interface Timeline {
  submitted_at: string | null;
  started_at: string | null;
  ready_at: string | null;
  ended_at: string | null;
}

/**
 * Issue 11 item 2 on real SLURM: with the node's 4 GPUs taken, a GPU service waits in the queue and
 * says where (position, SLURM's reason, backfill's estimate), a second one waits behind it, a prompt
 * is told when to come back, and both start once the GPUs are freed.
 */
describe('queue visibility on SLURM', () => {
  const suite = withStack(() => ({ label: 'queue', scheduler: 'slurm', ports: { gateway: 0 } }));
  const { api } = suite;
  let browser: Browser;
  let page: Page;
  let problems: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    browser = await launchChromium();
    ({ page, problems } = await watchedPage(browser));
  });

  afterAll(async () => {
    await browser.close();
  });

  /** The dashboard's card of one service or group. */
  const card = (id: string) => page.locator(`article.card[data-service-id="${id}"]`);

  async function create(body: unknown): Promise<Entry> {
    const response = await api<Entry>('POST', '/api/v1/services', body);
    expect(response.status).toBe(200);
    return response.body;
  }

  /** Re-reads `path` until `accept` holds, returning what it last read. */
  async function until<T>(path: string, accept: (body: T) => boolean, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await api<T>('GET', path);
      if (accept(body) || Date.now() > deadline) return body;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  it('shows position, reason and estimate while pending, 503 + Retry-After to a prompt, and none once started', async () => {
    // The filler takes every GPU; a finite time limit lets backfill compute when the others start.
    const filler = await create({
      recipe_name: 'inference/vllm-single-node',
      config: { resources: { gpu: 4, cpu: 1, memory: '1G', time_limit: 3 } },
    });
    await waitForStatus(api, filler.id, ['running'], 60_000);

    const first = await create({
      recipe_name: 'inference/vllm-single-node',
      config: { resources: { gpu: 1, cpu: 1, memory: '1G', time_limit: 2 } },
    });
    // A replica group of one node job: its entry and the group both carry the queue.
    const second = await create({
      recipe_name: 'inference/vllm-replicas',
      config: { resources: { gpu: 1, cpu: 1, memory: '1G', time_limit: 2 }, gpu_per_replica: 1 },
    });

    const waiting = await until<Entry>(
      `/api/v1/services/${first.id}`,
      (body) => body.queue?.reason != null && body.queue.position !== null,
      20_000,
    );
    expect(waiting.status).toBe('pending');
    expect(waiting.queue?.position).toBe(1);
    expect(waiting.queue?.reason).toEqual(expect.stringMatching(/\S/));
    console.log(
      `queue e2e: SLURM's pending reason for a GPU job on a full node: ${String(waiting.queue?.reason)}`,
    );

    // Backfill computes estimates every bf_interval (30 s by default): wait for one, but not for ever.
    const estimated = await until<Entry>(
      `/api/v1/services/${first.id}`,
      (body) => body.queue?.estimated_start != null,
      40_000,
    );
    const estimate = estimated.queue?.estimated_start ?? null;
    console.log(
      `queue e2e: estimated_start ${estimate === null ? 'absent (SLURM had none)' : `present: ${estimate}`}`,
    );
    if (estimate !== null) {
      expect(Number.isNaN(Date.parse(estimate))).toBe(false);
      expect(estimate).toMatch(/(Z|[+-]\d\d:\d\d)$/);
    }

    const status = await api<Entry>('GET', `/api/v1/services/${first.id}/status`);
    expect(status.body).toMatchObject({ id: first.id, status: 'pending', queue: { position: 1 } });
    const queued = await api<Entry>('GET', `/api/v1/services/${first.id}`);
    expect(queued.body.timeline).toMatchObject({ started_at: null, ready_at: null, ended_at: null });
    expect(Date.parse(queued.body.timeline?.submitted_at ?? '')).not.toBeNaN();

    const group = await until<Entry>(
      `/api/v1/service-groups/${second.id}`,
      (body) => body.queue?.position != null,
      10_000,
    );
    expect(group.status).toBe('pending');
    expect(group.queue?.position).toBe(2);
    expect(group.node_jobs?.[0]?.queue).toEqual(group.queue);
    const groupStatus = await api<Entry>('GET', `/api/v1/service-groups/${second.id}/status`);
    expect(groupStatus.body.queue?.position).toBe(2);

    for (const id of [first.id, second.id]) {
      const prompt = await api<{ success: boolean; status: string; queue?: Queue }>(
        'POST',
        `/api/v1/vllm/${id}/prompt`,
        { prompt: 'Hello', max_tokens: 5 },
      );
      expect(prompt.status).toBe(503);
      expect(prompt.body).toMatchObject({ success: false, status: 'pending' });
      expect(prompt.body.queue?.position).toEqual(expect.any(Number));
      const retryAfter = Number(prompt.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter) && retryAfter > 0).toBe(true);
      const queuedEstimate = prompt.body.queue?.estimated_start ?? null;
      // With an estimate, Retry-After reaches at least until it.
      if (queuedEstimate !== null) {
        expect(retryAfter).toBeGreaterThanOrEqual(
          Math.floor((Date.parse(queuedEstimate) - Date.now()) / 1000) - 2,
        );
      }
    }

    // The dashboard's cards say the same, as a person reads them.
    await page.goto(`${suite.stack.gatewayUrl}/ui/`);
    const queuedCard = card(first.id);
    await queuedCard
      .locator('.badge', { hasText: /^pending$/ })
      .first()
      .waitFor();
    const queueLine = queuedCard.locator('p.queue');
    await queueLine.filter({ hasText: /^Queue position 1 / }).waitFor();
    const shownQueue = (await queueLine.textContent()) ?? '';
    // SLURM's reason as the record has it now (it may have moved on since `waiting` was read).
    const current = await api<Entry>('GET', `/api/v1/services/${first.id}`);
    expect(shownQueue).toMatch(/^Queue position 1 \(\w+\), estimated start /);
    expect([waiting.queue?.reason, current.body.queue?.reason]).toContain(/\((\w+)\)/.exec(shownQueue)?.[1]);
    if (estimate !== null) expect(shownQueue).not.toMatch(/estimated start unknown$/);
    await card(second.id)
      .locator('p.queue')
      .filter({ hasText: /^Queue position 2 / })
      .waitFor();
    expect(await queuedCard.getByRole('list', { name: 'Timeline' }).textContent()).toMatch(
      /Submitted(?!\s*—).*Started\s*—/,
    );
    await page.screenshot({ path: join(SHOTS, '01-queued.png'), fullPage: true });
    console.log(`queue e2e: the dashboard's card: "${shownQueue}"`);

    const cancelled = await api('POST', `/api/v1/services/${filler.id}/status`, { status: 'cancelled' });
    expect(cancelled.status).toBe(200);
    await waitForStatus(api, first.id, ['running'], 60_000);
    const started = await api<Entry>('GET', `/api/v1/services/${first.id}`);
    expect(started.body.status).toBe('running');
    expect(started.body).not.toHaveProperty('queue');
    // Each phase in order: it waited in the queue until the filler's GPUs were freed, then loaded.
    const phases = started.body.timeline;
    const at = (value: string | null | undefined): number => Date.parse(value ?? '');
    expect(phases?.ended_at).toBeNull();
    expect(at(phases?.submitted_at)).toBeLessThanOrEqual(at(phases?.started_at));
    expect(at(phases?.started_at)).toBeLessThanOrEqual(at(phases?.ready_at));
    console.log(`queue e2e: timeline of the queued service: ${JSON.stringify(phases)}`);
    const startedStatus = await api<Entry>('GET', `/api/v1/services/${first.id}/status`);
    expect(startedStatus.body).not.toHaveProperty('queue');

    const groupStarted = await until<Entry>(
      `/api/v1/service-groups/${second.id}`,
      (body) => body.status === 'running',
      60_000,
    );
    expect(groupStarted.status).toBe('running');
    expect(groupStarted).not.toHaveProperty('queue');
    expect(groupStarted.node_jobs?.[0]).not.toHaveProperty('queue');

    // Once running, the cards drop the queue line, and the group's lists its replica with its health.
    const groupCard = card(second.id);
    await groupCard
      .locator('.badge', { hasText: /^running$/ })
      .first()
      .waitFor({ timeout: 30_000 });
    await groupCard.getByText(/^Replicas: 1 of 1 healthy$/).waitFor({ timeout: 60_000 });
    const replicas = groupCard.getByRole('list', { name: /^Replicas of / });
    expect(await replicas.getByRole('listitem').count()).toBe(1);
    expect(await replicas.getByRole('listitem').first().textContent()).toMatch(/running\s*healthy$/);
    await card(first.id)
      .locator('.badge', { hasText: /^running$/ })
      .first()
      .waitFor();
    expect(await card(first.id).locator('p.queue').count()).toBe(0);
    expect(await groupCard.locator('p.queue').count()).toBe(0);
    const fillerCard = card(filler.id);
    await fillerCard
      .locator('.badge', { hasText: /^cancelled$/ })
      .first()
      .waitFor();
    expect(await fillerCard.getByRole('list', { name: 'Timeline' }).textContent()).toMatch(/Ended(?!\s*—)/);
    await page.screenshot({ path: join(SHOTS, '02-running.png'), fullPage: true });
    expect(problems).toEqual([]);
  }, 240_000);
});
