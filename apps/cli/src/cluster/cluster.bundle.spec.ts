import * as path from 'node:path';
import { ClusterError } from './cluster.errors';
import { findRoot, productionPackages } from './cluster.bundle';

describe('the bundle', () => {
  it("ships the production dependencies, each package once, and other platforms' optional ones only if present", () => {
    const lock = {
      lockfileVersion: 3,
      packages: {
        '': {},
        'node_modules/zod': {},
        'node_modules/jest': { dev: true },
        'node_modules/bullmq': {},
        'node_modules/bullmq/node_modules/semver': {},
        'node_modules/@msgpackr-extract/msgpackr-extract-darwin-arm64': { optional: true },
        'node_modules/stray': { extraneous: true },
      },
    };
    expect(productionPackages(lock)).toEqual({
      required: ['node_modules/bullmq', 'node_modules/zod'],
      optional: ['node_modules/@msgpackr-extract/msgpackr-extract-darwin-arm64'],
    });
  });

  it('refuses a lock file without a packages map, saying how to get one', () => {
    expect(() => productionPackages({ lockfileVersion: 1 })).toThrow(ClusterError);
    expect(() => productionPackages({ lockfileVersion: 1 })).toThrow('lockfileVersion 2 or 3');
  });

  it('finds the checkout it runs from', () => {
    expect(findRoot(__dirname)).toBe(path.resolve(__dirname, '..', '..', '..', '..'));
    expect(findRoot('/')).toBeUndefined();
  });
});
