import * as path from 'node:path';
import { ConfigError } from '@aiplane/config';
import { loadSlurmWorkerConfig } from './slurm-worker.config';

describe('loadSlurmWorkerConfig RUNTIME_DIR', () => {
  it('defaults to the runtime folder of the recipes directory', () => {
    expect(loadSlurmWorkerConfig({ RECIPES_DIR: '/srv/aiplane/recipes' }).RUNTIME_DIR).toBe(
      '/srv/aiplane/recipes/runtime',
    );
    expect(loadSlurmWorkerConfig({}).RUNTIME_DIR).toBe(path.resolve('recipes', 'runtime'));
  });

  it('takes an explicit directory, made absolute since jobs run in their own directory', () => {
    expect(loadSlurmWorkerConfig({ RUNTIME_DIR: '/shared/aiplane/runtime' }).RUNTIME_DIR).toBe(
      '/shared/aiplane/runtime',
    );
    expect(loadSlurmWorkerConfig({ RUNTIME_DIR: 'rt' }).RUNTIME_DIR).toBe(path.resolve('rt'));
  });

  it.each([{ RUNTIME_DIR: '/a:b' }, { RUNTIME_DIR: '/a,b' }, { RECIPES_DIR: '/x,y/recipes' }])(
    'refuses %j, which Apptainer would read as several binds',
    (env) => {
      expect(() => loadSlurmWorkerConfig(env)).toThrow(ConfigError);
      expect(() => loadSlurmWorkerConfig(env)).toThrow(/RUNTIME_DIR/);
    },
  );
});
