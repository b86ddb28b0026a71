import { seededUniform } from './arrival.schedule';

// Common English words that BPE tokenizers (GPT-2, Llama, Qwen) each encode as one token when
// preceded by a space, so n of them make a prompt of about n tokens.
const WORDS: readonly string[] = [
  'the', 'time', 'people', 'year', 'way', 'day', 'man', 'thing', 'woman', 'life', 'child', 'world',
  'school', 'state', 'family', 'student', 'group', 'country', 'problem', 'hand', 'part', 'place',
  'case', 'week', 'company', 'system', 'program', 'question', 'work', 'government', 'number', 'night',
  'point', 'home', 'water', 'room', 'mother', 'area', 'money', 'story', 'fact', 'month', 'lot',
  'right', 'study', 'book', 'eye', 'job', 'word', 'business', 'issue', 'side', 'kind', 'head',
  'house', 'service', 'friend', 'father', 'power', 'hour', 'game', 'line', 'end', 'member',
]; // prettier-ignore

/**
 * A prompt of about `tokens` tokens: that many common words, drawn from the seed and the request's
 * index so no two requests share a prefix (a real server would otherwise serve them from its
 * prefix cache). A chat template adds its own few tokens around it.
 */
export function syntheticPrompt(tokens: number, seed: number, index: number): string {
  const words: string[] = [];
  for (let i = 0; i < tokens; i++) {
    const pick = Math.floor(seededUniform(seed, `prompt-${String(index)}`, i) * WORDS.length);
    words.push(WORDS[pick] ?? 'the');
  }
  return words.join(' ');
}
