import { Inject, Injectable } from '@nestjs/common';
import type { ServiceConfig } from '@aiplane/contracts';
import type { EffectiveConfig, Recipe } from '@aiplane/recipes';
import { UnavailableError, type Logger } from '@aiplane/server-kit';
import { HfHubClient } from '../models/hf-hub.client';
import { TtlCache } from '../models/ttl.cache';
import type { OrchestratorConfig } from '../orchestrator.config';
import { CONFIG, LOGGER } from '../platform/platform.module';
import { FitSettingError, ModelDoesNotFitError } from './fit.errors';
import {
  assessFit,
  fitPlanOf,
  isHubModelId,
  weightsOf,
  type FitLimits,
  type WeightsEstimate,
} from './fit.rules';

const CACHE_ENTRIES = 500;
/**
 * After the Hub failed (unreachable, slow, erroring), creates skip it this long: a burst of creates
 * during an outage must not each wait FIT_HUB_TIMEOUT_MS. Short, so a recovered Hub is asked again soon.
 */
const HUB_FAILURE_MEMORY_MS = 30_000;

/**
 * The fit check of a create: refuses a vLLM model whose weights alone exceed its GPUs (before it
 * waits in the queue) and returns the warnings for the record. The Hub's answers are cached for
 * HF_CACHE_MS and each call is bounded by FIT_HUB_TIMEOUT_MS; when the size cannot be had the
 * create goes on, with a warning that says so.
 */
@Injectable()
export class FitService {
  private readonly estimates: TtlCache<WeightsEstimate>;
  private readonly limits: FitLimits;
  private hubFailure: { until: number; reason: string } | undefined;

  constructor(
    private readonly hub: HfHubClient,
    @Inject(CONFIG) private readonly config: OrchestratorConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.estimates = new TtlCache(config.HF_CACHE_MS, CACHE_ENTRIES);
    this.limits = {
      gpuMemoryGb: config.FIT_GPU_MEMORY_GB,
      defaultGpuMemoryGb: config.FIT_DEFAULT_GPU_MEMORY_GB,
      kvHeadroomFraction: config.FIT_KV_HEADROOM_FRACTION,
      gpuOverheadGb: config.FIT_GPU_OVERHEAD_GB,
    };
  }

  /** The record's warnings; throws ModelDoesNotFitError (400) or FitSettingError (400). */
  async check(recipe: Recipe, config: ServiceConfig, effective: EffectiveConfig): Promise<string[]> {
    const outcome = fitPlanOf(recipe, config, effective, this.config.SLURM_PARTITION);
    if (outcome.kind === 'skip') return [];
    if (outcome.kind === 'invalid') throw new FitSettingError(outcome.message, outcome.field);
    const { plan } = outcome;
    const verdict = assessFit(plan, await this.weights(plan.model), this.limits);
    switch (verdict.kind) {
      case 'too-big':
        this.logger.info({ fit: verdict.numbers }, 'create refused: the model does not fit its GPUs');
        throw new ModelDoesNotFitError(verdict.message, plan.gpuField, verdict.numbers);
      case 'tight':
        this.logger.info({ fit: verdict.numbers }, 'create warned: the model leaves little KV-cache room');
        return [verdict.warning];
      case 'unknown':
        return [verdict.warning];
      case 'fits':
        return [];
    }
  }

  private async weights(model: string): Promise<WeightsEstimate> {
    if (!isHubModelId(model)) {
      return {
        kind: 'unknown',
        reason: 'VLLM_MODEL is not a Hugging Face model id; a path on the cluster is not sized',
      };
    }
    try {
      return await this.estimates.getOrLoad(model, async () => {
        const failure = this.hubFailure;
        if (failure !== undefined && failure.until > Date.now())
          throw new RememberedHubFailure(failure.reason);
        const info = await this.hub.modelInfo(model, this.config.FIT_HUB_TIMEOUT_MS);
        if (info === null) {
          return {
            kind: 'unknown',
            reason: `the Hugging Face Hub does not show ${model}; a private or gated model needs the orchestrator's HF_TOKEN`,
          };
        }
        return weightsOf(info);
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (error instanceof RememberedHubFailure) return { kind: 'unknown', reason };
      // An outage (unreachable, silent, 5xx, 429) concerns every model; the TtlCache keeps only
      // answers, so it is remembered briefly here instead.
      if (error instanceof UnavailableError && this.config.HF_CACHE_MS > 0) {
        this.hubFailure = { until: Date.now() + HUB_FAILURE_MEMORY_MS, reason };
      }
      this.logger.warn({ model, reason }, 'fit check: the model size could not be had from the Hub');
      return { kind: 'unknown', reason };
    }
  }
}

/** The Hub's last failure, still fresh: the Hub was not asked, and the window is not extended. */
class RememberedHubFailure extends Error {}
