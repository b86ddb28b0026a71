// Project-level testTimeout is ignored by jest 30; per-tier setup files set it instead.
jest.setTimeout(300_000);
