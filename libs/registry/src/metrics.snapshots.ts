import * as os from 'node:os';
import type { Redis } from 'ioredis';

/** One process's exposition, as it last published it. */
export interface MetricsSnapshot {
  /** `<host>:<pid>`: which process of the app wrote it. */
  instance: string;
  text: string;
}

/** This process, as a snapshot names it. */
function snapshotInstance(): string {
  return `${os.hostname()}:${String(process.pid)}`;
}

/**
 * The metrics of the control-plane processes without an HTTP server the gateway reaches (the
 * slurm-worker, the health-prober, the proxy behind its socket), for the orchestrator to serve.
 * Each process writes its whole exposition under its own key with a time to live, and an index per
 * app (a sorted set scored by expiry) says which keys to read: a process that stops is gone from
 * the answer within its TTL, and reading never scans the keyspace.
 */
export class MetricsSnapshots {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private index(app: string): string {
    return `${this.prefix}:metrics:${app}`;
  }

  private key(app: string, instance: string): string {
    return `${this.prefix}:metrics:${app}:${instance}`;
  }

  async publish(app: string, instance: string, text: string, ttlMs: number): Promise<void> {
    const now = Date.now();
    await this.redis
      .multi()
      .set(this.key(app, instance), text, 'PX', ttlMs)
      .zadd(this.index(app), now + ttlMs, instance)
      .zremrangebyscore(this.index(app), '-inf', now)
      .exec();
  }

  /** Every unexpired snapshot of `app`, in instance order. */
  async read(app: string): Promise<MetricsSnapshot[]> {
    const instances = await this.redis.zrangebyscore(this.index(app), Date.now(), '+inf');
    if (instances.length === 0) return [];
    const sorted = [...instances].sort();
    const texts = await this.redis.mget(...sorted.map((instance) => this.key(app, instance)));
    return sorted.flatMap((instance, i) => {
      const text = texts[i];
      return typeof text === 'string' ? [{ instance, text }] : [];
    });
  }

  /** On a clean stop: the process's series disappear now, not when the TTL runs out. */
  async withdraw(app: string, instance: string): Promise<void> {
    await this.redis.multi().del(this.key(app, instance)).zrem(this.index(app), instance).exec();
  }
}

export interface MetricsPublisherOptions {
  app: string;
  intervalMs: number;
  /** The app's exposition now. */
  collect: () => Promise<string>;
  /** A failed publish (Redis away): reported, and tried again next interval. */
  onError: (error: unknown) => void;
  instance?: string;
}

/**
 * Publishes an app's exposition every interval, with a TTL of three intervals so that one late
 * publish does not make the app vanish from a scrape.
 */
export class MetricsPublisher {
  private timer: NodeJS.Timeout | undefined;
  private readonly instance: string;
  private stopped = false;
  private failing = false;

  constructor(
    private readonly snapshots: MetricsSnapshots,
    private readonly options: MetricsPublisherOptions,
  ) {
    this.instance = options.instance ?? snapshotInstance();
  }

  start(): void {
    this.schedule(0);
  }

  /** Publishes once now; resolves when it is written. */
  private async publishNow(): Promise<void> {
    const text = await this.options.collect();
    await this.snapshots.publish(this.options.app, this.instance, text, this.options.intervalMs * 3);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.snapshots.withdraw(this.options.app, this.instance).catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.publishNow()
        .then(() => {
          this.failing = false;
        })
        .catch((error: unknown) => {
          // Once per outage, not once per interval.
          if (!this.failing) this.options.onError(error);
          this.failing = true;
        })
        .finally(() => {
          this.schedule(this.options.intervalMs);
        });
    }, delayMs);
    // Publishing alone must not keep a stopping process alive.
    this.timer.unref();
  }
}
