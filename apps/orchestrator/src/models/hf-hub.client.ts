import { HttpService, type HttpModuleOptions } from '@nestjs/axios';
import { Inject, Injectable } from '@nestjs/common';
import { isAxiosError, type AxiosResponse } from 'axios';
import { firstValueFrom } from 'rxjs';
import { UnavailableError, UpstreamError, type Logger } from '@aiplane/server-kit';
import type { OrchestratorConfig } from '../orchestrator.config';
import { CONFIG, LOGGER } from '../platform/platform.module';
import { parseHubModel, parseHubModels, type HubModel } from './hf-hub.types';

export const HUB_SORT_KEYS = ['downloads', 'likes', 'lastModified', 'createdAt'] as const;
export type HubSort = (typeof HUB_SORT_KEYS)[number];

export interface HubSearch {
  search: string | undefined;
  limit: number;
  sort: HubSort;
}

// A search of 100 models with their configs and file lists is a few MB; far more is not a Hub answer.
const MAX_ANSWER_BYTES = 32 * 1024 * 1024;
const UNREACHABLE = 'The Hugging Face Hub is unreachable';

/** Axios defaults for every Hub call; the token goes out as a header and nowhere else. */
export function hubHttpOptions(config: OrchestratorConfig): HttpModuleOptions {
  return {
    baseURL: config.HF_HUB_URL.replace(/\/+$/, ''),
    timeout: config.HF_TIMEOUT_MS,
    maxContentLength: MAX_ANSWER_BYTES,
    maxRedirects: 3,
    // Every status is judged here, so that an error never carries the request (and its headers) away.
    validateStatus: () => true,
    headers: {
      Accept: 'application/json',
      'User-Agent': 'aiplane-orchestrator',
      ...(config.HF_TOKEN === undefined ? {} : { Authorization: `Bearer ${config.HF_TOKEN}` }),
    },
  };
}

/** The two read-only Hub endpoints model search needs, with the Hub's failures turned into our errors. */
@Injectable()
export class HfHubClient {
  constructor(
    private readonly http: HttpService,
    @Inject(CONFIG) private readonly config: OrchestratorConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async searchModels(query: HubSearch): Promise<HubModel[]> {
    const params = new URLSearchParams();
    if (query.search !== undefined) params.set('search', query.search);
    params.set('limit', String(query.limit));
    params.set('sort', query.sort);
    params.set('direction', '-1');
    params.set('filter', 'text-generation');
    params.set('full', 'true');
    params.set('config', 'true');
    const response = await this.get(`/api/models?${params.toString()}`);
    this.rejectFailure(response);
    const models = parseHubModels(response.data);
    if (models === null) {
      throw new UpstreamError(
        'The Hugging Face Hub answered the model search with something other than a list',
      );
    }
    return models;
  }

  /**
   * Null when the Hub does not know the model (or will not say: it answers 401 for those too).
   * `timeoutMs` bounds this call more tightly than HF_TIMEOUT_MS, for callers that must not wait.
   */
  async modelInfo(repoId: string, timeoutMs = this.config.HF_TIMEOUT_MS): Promise<HubModel | null> {
    const path = repoId.split('/').map(encodeURIComponent).join('/');
    // blobs=true adds each file's size, which is what a download (and the GPU) will have to hold.
    const response = await this.get(`/api/models/${path}?blobs=true`, timeoutMs);
    if ((response.status === 401 || response.status === 404) && !this.tokenRejected(response)) return null;
    this.rejectFailure(response);
    const model = parseHubModel(response.data);
    if (model === null) {
      throw new UpstreamError(`The Hugging Face Hub answered with an unreadable description of ${repoId}`);
    }
    return model;
  }

  private async get(path: string, timeoutMs = this.config.HF_TIMEOUT_MS): Promise<AxiosResponse<unknown>> {
    const started = Date.now();
    try {
      const response = await firstValueFrom(
        // The axios timeout only bounds idle time; the signal bounds the whole exchange.
        this.http.get<unknown>(path, { timeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) }),
      );
      this.logger.debug(
        { hub_path: path, status: response.status, duration_ms: Date.now() - started },
        'hugging face hub answered',
      );
      return response;
    } catch (error) {
      const reason = this.describe(error, timeoutMs);
      this.logger.warn(
        { hub_path: path, duration_ms: Date.now() - started, reason },
        'hugging face hub call failed',
      );
      if (
        isAxiosError(error) &&
        error.code === 'ERR_BAD_RESPONSE' &&
        /maxContentLength/i.test(error.message)
      ) {
        throw new UpstreamError(`The Hugging Face Hub's answer was larger than ${MAX_ANSWER_BYTES} bytes`);
      }
      throw new UnavailableError(`${UNREACHABLE}: ${reason}`);
    }
  }

  private describe(error: unknown, timeoutMs: number): string {
    if (isAxiosError(error)) {
      if (error.code === 'ERR_CANCELED' || error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT') {
        return `no answer within ${timeoutMs} ms`;
      }
      // Axios messages name the failing host and port, never the request's headers.
      return error.message || error.code || 'connection failed';
    }
    return error instanceof Error ? error.message : String(error);
  }

  private tokenRejected(response: AxiosResponse<unknown>): boolean {
    if (response.status !== 401 || this.config.HF_TOKEN === undefined) return false;
    if (headerOf(response, 'x-error-code') === 'RepoNotFound') return false;
    return /credentials|token/i.test(hubMessage(response));
  }

  private rejectFailure(response: AxiosResponse<unknown>): void {
    const { status } = response;
    if (status >= 200 && status < 300) return;
    const message = hubMessage(response);
    const detail = message ? ` ${message}` : '';
    if (status >= 500) throw new UnavailableError(`${UNREACHABLE}: it answered ${status}${detail}`);
    if (status === 429) {
      throw new UnavailableError(
        `${UNREACHABLE}: it is rate-limiting this cluster (429); retry later or configure HF_TOKEN`,
      );
    }
    if (this.tokenRejected(response)) {
      throw new UpstreamError(`The Hugging Face Hub rejected the orchestrator's HF_TOKEN (401${detail})`);
    }
    throw new UpstreamError(`The Hugging Face Hub answered ${status}${detail}`);
  }
}

function headerOf(response: AxiosResponse<unknown>, name: string): string | undefined {
  const value: unknown = (response.headers as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/** The Hub's own words (`{"error": "..."}` or an x-error-message header), bounded for a message. */
function hubMessage(response: AxiosResponse<unknown>): string {
  const body = response.data;
  let text: string | undefined;
  if (body !== null && typeof body === 'object' && 'error' in body && typeof body.error === 'string') {
    text = body.error;
  } else if (typeof body === 'string' && body.length > 0 && !body.trimStart().startsWith('<')) {
    text = body;
  }
  text ??= headerOf(response, 'x-error-message');
  return text === undefined ? '' : text.replace(/\s+/g, ' ').trim().slice(0, 200);
}
