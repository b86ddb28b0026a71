export * from './bench.types';
export { BenchInputError } from './bench.errors';
export {
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_OUTPUT_TOKENS,
  DEFAULT_PROMPT_TOKENS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_REQUESTS,
  durationToMs,
  parseBenchOptions,
  type BenchOptionsInput,
  type OptionLabel,
} from './bench.schema';
export { benchEndpoint, requestBody, runBench } from './bench.runner';
export { loadDataset, parseDataset } from './dataset.parser';
export { nearestRank, summarize } from './latency.summary';
export { poissonArrivals, seededUniform } from './arrival.schedule';
export { syntheticPrompt } from './prompt.factory';
export { streamCompletion, type StreamRequest } from './openai-stream.client';
