// Deterministic stand-in for a language model: the output depends only on its inputs, so tests can assert
// exact text, and the same tokenizer counts prompts, completions and context limits.

export type FinishReason = 'stop' | 'length';

export interface ChatMessage {
  role: string;
  content: string;
}

export interface GenerateInput {
  model: string;
  prompt: string;
  /** When absent the "model" ends on its own (an EOS at a sentence end), capped by `limit`. */
  maxTokens?: number | undefined;
  temperature?: number | undefined;
  stop?: string | readonly string[] | undefined;
  /** Most tokens that may be generated when `maxTokens` is absent (what is left of the context). */
  limit?: number | undefined;
}

export interface Generation {
  text: string;
  /** What each generated token adds to `text`, in order; tokens swallowed by a stop string add ''. */
  pieces: string[];
  completionTokens: number;
  finishReason: FinishReason;
  /** The stop string that ended generation, null otherwise (vLLM's `stop_reason`). */
  stopReason: string | null;
}

// Special tokens count as one token each, like a real tokenizer's added vocabulary.
const TOKEN_PATTERN = /<\|[a-z_]+\|>|[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu;

export function tokenize(text: string): string[] {
  return text.match(TOKEN_PATTERN) ?? [];
}

export function countTokens(text: string): number {
  return tokenize(text).length;
}

/** ChatML, the template of the default Qwen model; its markers cost one token each. */
export function renderChatPrompt(messages: readonly ChatMessage[]): string {
  const turns = messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('');
  return `${turns}<|im_start|>assistant\n`;
}

export const VOCABULARY: readonly string[] = [
  'the', 'model', 'answer', 'cluster', 'node', 'job', 'token', 'queue', 'system', 'data', 'result', 'value',
  'request', 'server', 'memory', 'batch', 'simple', 'fast', 'quiet', 'bright', 'small', 'large', 'open', 'clear',
  'runs', 'waits', 'sends', 'reads', 'writes', 'keeps', 'finds', 'makes', 'takes', 'gives', 'shows', 'holds',
  'and', 'but', 'with', 'from', 'into', 'over', 'under', 'about', 'after', 'before', 'while', 'then',
  'river', 'stone', 'light', 'garden', 'window', 'signal', 'number', 'letter', 'paper', 'engine', 'bridge', 'field',
  'today', 'again', 'often', 'never',
]; // prettier-ignore

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over UTF-16 code units: small, stable across platforms and Node versions. */
export function hash32(input: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < input.length; i++) {
    h ^= input.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME) >>> 0;
  }
  return h >>> 0;
}

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const pick = <T>(items: readonly T[], r: number): T => items[Math.floor(r * items.length)] as T;

const capitalize = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1);

interface RawToken {
  piece: string;
  endsSentence: boolean;
}

/**
 * The unbounded token stream for a seed. max_tokens only truncates it, so a shorter request yields a prefix of a
 * longer one, as greedy decoding of a real model would.
 */
function* tokenStream(seed: number): Generator<RawToken, never> {
  const random = prng(seed);
  let first = true;
  for (;;) {
    const words = 4 + Math.floor(random() * 9);
    for (let w = 0; w < words; w++) {
      const word = pick(VOCABULARY, random());
      const shown = w === 0 ? capitalize(word) : word;
      yield { piece: first ? shown : ` ${shown}`, endsSentence: false };
      first = false;
      if (w > 0 && w < words - 1 && random() < 0.1) yield { piece: ',', endsSentence: false };
    }
    yield { piece: '.', endsSentence: true };
  }
}

export function normalizeStop(stop: string | readonly string[] | null | undefined): string[] {
  if (stop === null || stop === undefined) return [];
  const list = typeof stop === 'string' ? [stop] : [...stop];
  return list.filter((s) => s !== '');
}

export function generationSeed(model: string, prompt: string, temperature: number | undefined): number {
  return hash32(JSON.stringify([model, prompt, temperature ?? 1]));
}

export function generate(input: GenerateInput): Generation {
  const seed = generationSeed(input.model, input.prompt, input.temperature);
  const stops = normalizeStop(input.stop);
  const hardLimit = input.maxTokens ?? Math.max(1, input.limit ?? Number.MAX_SAFE_INTEGER);
  // A natural length for requests without max_tokens: the first sentence end at or after this many tokens.
  const naturalTarget = input.maxTokens === undefined ? 16 + (hash32(`eos:${seed}`) % 49) : Infinity;

  const pieces: string[] = [];
  let text = '';
  let finishReason: FinishReason = 'length';
  let stopReason: string | null = null;

  const stream = tokenStream(seed);
  while (pieces.length < hardLimit) {
    const { piece, endsSentence } = stream.next().value;
    const before = text.length;
    pieces.push(piece);
    text += piece;

    const hit = findStop(text, before, stops);
    if (hit) {
      text = text.slice(0, hit.index);
      finishReason = 'stop';
      stopReason = hit.stop;
      break;
    }
    if (endsSentence && pieces.length >= naturalTarget) {
      finishReason = 'stop';
      break;
    }
  }

  return {
    text,
    pieces: visiblePieces(pieces, text.length),
    completionTokens: pieces.length,
    finishReason,
    stopReason,
  };
}

/** Earliest stop string completed by the text appended after `before` (nothing matched before it). */
function findStop(
  text: string,
  before: number,
  stops: readonly string[],
): { index: number; stop: string } | null {
  let best: { index: number; stop: string } | null = null;
  for (const stop of stops) {
    const index = text.indexOf(stop, Math.max(0, before - stop.length + 1));
    if (index !== -1 && (best === null || index < best.index)) best = { index, stop };
  }
  return best;
}

/** Clips each token's piece to the final text, since a stop string may cut back into earlier tokens. */
function visiblePieces(pieces: readonly string[], length: number): string[] {
  let offset = 0;
  return pieces.map((piece) => {
    const start = offset;
    offset += piece.length;
    return piece.slice(0, Math.max(0, Math.min(piece.length, length - start)));
  });
}
