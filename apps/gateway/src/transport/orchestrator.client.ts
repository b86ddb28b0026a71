import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Agent, IncomingMessage } from 'node:http';
import type { Request, Response } from 'express';
import { routePath } from '@aiplane/contracts';
import { GatewayTimeoutError, HttpForwarder, pipeResponse, UnavailableError } from '@aiplane/server-kit';
import type { GatewayConfig } from '../gateway.config';
import type { SshTunnel, TunnelState } from './ssh-tunnel';

export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');
export const ORCHESTRATOR_AGENT = Symbol('ORCHESTRATOR_AGENT');
export const ORCHESTRATOR_FORWARDER = Symbol('ORCHESTRATOR_FORWARDER');
export const ORCHESTRATOR_PROBE = Symbol('ORCHESTRATOR_PROBE');
export const SSH_TUNNEL = Symbol('SSH_TUNNEL');

/** /health and /ready must answer quickly even when the orchestrator does not. */
export const PROBE_TIMEOUT_MS = 3_000;

/** The orchestrator is alive and its store answers. */
const HEALTH_PATH = routePath('health.orchestrator', 'orchestrator', {});
/** ... and a create sent now would be accepted (a slurm-worker consumes the queue). */
const READINESS_PATH = routePath('health.orchestratorReady', 'orchestrator', {});
/** Enough of a refusal to read its `message`; the rest is not waited for. */
const REFUSAL_BYTES = 4_096;

export interface ForwardOptions {
  /** Upstream method when it differs from the client's (DELETE → POST .../stop). */
  method?: string;
  /** The validated DTO; omitted for requests without a body. */
  body?: unknown;
  /** Headers the gateway adds to the upstream request (X-Forwarded-Host for discovery); never authorization. */
  headers?: Record<string, string>;
  /** Headers the gateway adds to the answer (Deprecation, Link). */
  responseHeaders?: Record<string, string>;
}

export interface OrchestratorProbe {
  reachable: boolean;
  latency_ms: number | null;
  /** Why this probe failed; null when it succeeded. */
  error: string | null;
}

export interface OrchestratorReadiness {
  ready: boolean;
  /** The orchestrator answered at all (it may have answered "not ready"). */
  reachable: boolean;
  latency_ms: number | null;
  /** Why a create would not be accepted now, in the orchestrator's words when it gave them; null when ready. */
  reason: string | null;
}

export type TransportInfo = { mode: 'http'; target: string } | ({ mode: 'ssh' } & TunnelState);

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The one way controllers reach the orchestrator. It adds the bearer token, carries the request
 * id, streams the answer back untouched, and remembers how the last exchanges went for /health.
 */
@Injectable()
export class OrchestratorClient implements OnApplicationShutdown {
  private lastSuccessAt: number | undefined;
  private lastFailureAt: number | undefined;
  private lastError: string | undefined;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(ORCHESTRATOR_FORWARDER) private readonly forwarder: HttpForwarder,
    @Inject(ORCHESTRATOR_PROBE) private readonly prober: HttpForwarder,
    @Inject(ORCHESTRATOR_AGENT) private readonly agent: Agent,
    @Inject(SSH_TUNNEL) private readonly tunnel: SshTunnel | null,
  ) {}

  async forward(req: Request, res: Response, path: string, options: ForwardOptions = {}): Promise<void> {
    const upstream = await this.exchange(this.forwarder, {
      method: options.method ?? req.method,
      path,
      headers: { ...this.headersFor(req), ...options.headers },
      body: options.body,
    });
    for (const [name, value] of Object.entries(options.responseHeaders ?? {})) res.setHeader(name, value);
    pipeResponse(upstream, res);
  }

  /** Asks the orchestrator's own health endpoint; answers within PROBE_TIMEOUT_MS whatever the transport does. */
  async probe(): Promise<OrchestratorProbe> {
    try {
      const { statusCode, latency } = await this.ask(HEALTH_PATH);
      if (statusCode >= 400) {
        const problem = `The orchestrator's health check answered ${String(statusCode)}`;
        this.recordFailure(problem);
        return { reachable: false, latency_ms: latency, error: problem };
      }
      return { reachable: true, latency_ms: latency, error: null };
    } catch (error: unknown) {
      this.recordFailure(messageOf(error));
      return { reachable: false, latency_ms: null, error: messageOf(error) };
    }
  }

  /**
   * Whether a create would be accepted now: the orchestrator, its store and a slurm-worker are up.
   * A "not yet" answer is not a failure to reach the orchestrator, so it is not recorded as one.
   */
  async readiness(): Promise<OrchestratorReadiness> {
    try {
      const { statusCode, latency, message } = await this.ask(READINESS_PATH);
      if (statusCode < 400) return { ready: true, reachable: true, latency_ms: latency, reason: null };
      return {
        ready: false,
        reachable: true,
        latency_ms: latency,
        reason: message ?? `The orchestrator's readiness check answered ${String(statusCode)}`,
      };
    } catch (error: unknown) {
      this.recordFailure(messageOf(error));
      return { ready: false, reachable: false, latency_ms: null, reason: messageOf(error) };
    }
  }

  transport(): TransportInfo {
    return this.tunnel
      ? { mode: 'ssh', ...this.tunnel.state() }
      : { mode: 'http', target: this.config.orchestratorSocket ?? this.config.orchestratorUrl };
  }

  /** When the orchestrator last answered, and the most recent failure to reach it, for /health. */
  lastOutcome(): { last_success_at: string | null; last_error: string | null; last_error_at: string | null } {
    const iso = (time: number | undefined): string | null =>
      time === undefined ? null : new Date(time).toISOString();
    return {
      last_success_at: iso(this.lastSuccessAt),
      last_error: this.lastError ?? null,
      last_error_at: iso(this.lastFailureAt),
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.tunnel?.close();
    this.agent.destroy();
  }

  /**
   * Only `accept` and `idempotency-key` travel (the key makes a retried create safe: without it a
   * client that lost an answer could only create a second job); the forwarder adds x-request-id,
   * and the caller's credentials stay here.
   */
  private headersFor(req: Request): Record<string, string> {
    const headers: Record<string, string> = {};
    const { accept } = req.headers;
    if (accept) headers.accept = accept;
    const idempotencyKey = req.headers['idempotency-key'];
    if (typeof idempotencyKey === 'string') headers['idempotency-key'] = idempotencyKey;
    return headers;
  }

  /** GET `path` within PROBE_TIMEOUT_MS: the status, the time to it and, on a refusal, its message. */
  private async ask(path: string): Promise<{ statusCode: number; latency: number; message: string | null }> {
    const timeoutMs = Math.min(PROBE_TIMEOUT_MS, this.config.upstreamTimeoutMs);
    const started = performance.now();
    const answer = this.exchange(this.prober, { method: 'GET', path, headers: {} });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      // Covers the wait for an SSH connection, which the forwarder's socket timeout cannot see.
      timer = setTimeout(() => {
        reject(new Error(`The orchestrator did not answer its health check within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      const res = await Promise.race([answer, deadline]);
      const latency = Math.round((performance.now() - started) * 10) / 10;
      const statusCode = res.statusCode ?? 500;
      if (statusCode < 400) {
        res.resume();
        return { statusCode, latency, message: null };
      }
      return { statusCode, latency, message: await Promise.race([refusalMessage(res), deadline]) };
    } catch (error: unknown) {
      // A late answer must still be drained, or its connection stays open.
      answer.then(
        (res) => res.resume(),
        () => undefined,
      );
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Every upstream call, forwarded or probe, goes through here: one place adds the token. */
  private async exchange(
    via: HttpForwarder,
    request: Parameters<HttpForwarder['request']>[0],
  ): ReturnType<HttpForwarder['request']> {
    const dropsBefore = this.tunnel?.dropCount ?? 0;
    try {
      const res = await via.request(
        this.config.orchestratorToken
          ? {
              ...request,
              headers: { ...request.headers, authorization: `Bearer ${this.config.orchestratorToken}` },
            }
          : request,
      );
      this.lastSuccessAt = Date.now();
      return res;
    } catch (error: unknown) {
      // A pooled channel dies with its connection as "socket hang up"; the client should hear
      // that the tunnel dropped, as every request does once the drop is known.
      const drop =
        error instanceof GatewayTimeoutError
          ? undefined
          : this.tunnel?.explainLoss(error instanceof Error ? error : new Error(String(error)), dropsBefore);
      const failure =
        drop === undefined ? error : new UnavailableError(`The orchestrator is unreachable: ${drop}`);
      this.recordFailure(messageOf(failure));
      throw failure;
    }
  }

  private recordFailure(message: string): void {
    this.lastFailureAt = Date.now();
    this.lastError = message;
  }
}

/** The `message` of an error body ({statusCode, error, message}), or null when there is none. */
async function refusalMessage(res: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size >= REFUSAL_BYTES) {
      res.destroy();
      break;
    }
  }
  try {
    const { message } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { message?: unknown };
    return typeof message === 'string' ? message : null;
  } catch {
    return null;
  }
}
