// vLLM picks the pooling runner from the checkpoint's architecture (BertModel, XLMRobertaModel, ...). The
// simulator has no checkpoint, so it recognises the families people serve for embeddings by their names.
const EMBEDDING_FAMILIES: readonly RegExp[] = [
  /^BAAI\/bge-/i,
  /^intfloat\/.*e5/i,
  /^sentence-transformers\//i,
  /^thenlper\/gte-/i,
  /^Alibaba-NLP\/gte-/i,
  /embed/i,
];

// Models trained with Matryoshka representation learning: the only ones vLLM lets `dimensions` shorten.
const MATRYOSHKA_FAMILIES: readonly RegExp[] = [
  /nomic-embed-text-v1\.5/i,
  /Qwen3-Embedding/i,
  /jina-embeddings-v3/i,
  /snowflake-arctic-embed/i,
];

export function isEmbeddingModel(model: string): boolean {
  return EMBEDDING_FAMILIES.some((family) => family.test(model));
}

export function isMatryoshkaModel(model: string): boolean {
  return MATRYOSHKA_FAMILIES.some((family) => family.test(model));
}

/** The hidden size the family ships with: small/mini 384, large 1024, base and the rest 768. */
export function defaultEmbeddingDimension(model: string): number {
  const name = model.toLowerCase();
  if (/gte-qwen2-1\.5b/.test(name)) return 1536;
  if (/gte-qwen2-7b/.test(name)) return 3584;
  if (/e5-mistral/.test(name)) return 4096;
  if (/small|mini/.test(name)) return 384;
  if (/large|bge-m3/.test(name)) return 1024;
  return 768;
}
