// Project-level testTimeout is ignored by jest 30; per-tier setup files set it instead.
jest.setTimeout(60_000);
