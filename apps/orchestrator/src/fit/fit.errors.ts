import { BadRequestError } from '@aiplane/server-kit';
import type { FitNumbers } from './fit.rules';

/**
 * The model's weights alone exceed what its GPUs let vLLM use: the job would wait in the queue only
 * to fail at load. A 400 whose body carries the field to change and the numbers (`fit`).
 */
export class ModelDoesNotFitError extends BadRequestError {
  readonly code = 'MODEL_DOES_NOT_FIT';

  constructor(
    message: string,
    readonly field: string,
    readonly numbers: FitNumbers,
  ) {
    super(message, { field, fit: numbers });
  }
}

/** A setting the check reads (gpu_memory_utilization) that vLLM would refuse at start-up. */
export class FitSettingError extends BadRequestError {
  readonly code = 'INVALID_FIT_SETTING';

  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message, { field });
  }
}
