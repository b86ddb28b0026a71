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

describe('loadSlurmWorkerConfig LOG_FORMAT and METRICS_PUBLISH_INTERVAL_MS', () => {
  it('writes JSON unless told `pretty`, and publishes its metrics every 5 s unless told otherwise', () => {
    expect(loadSlurmWorkerConfig({})).toMatchObject({
      LOG_FORMAT: 'json',
      METRICS_PUBLISH_INTERVAL_MS: 5_000,
    });
    expect(
      loadSlurmWorkerConfig({ LOG_FORMAT: 'pretty', METRICS_PUBLISH_INTERVAL_MS: '1000' }),
    ).toMatchObject({
      LOG_FORMAT: 'pretty',
      METRICS_PUBLISH_INTERVAL_MS: 1_000,
    });
    expect(loadSlurmWorkerConfig({ LOG_FORMAT: ' ' }).LOG_FORMAT).toBe('json');
  });

  it.each([
    [{ LOG_FORMAT: 'colour' }, /LOG_FORMAT: must be "json" or "pretty"/],
    [{ METRICS_PUBLISH_INTERVAL_MS: '10' }, /METRICS_PUBLISH_INTERVAL_MS/],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(() => loadSlurmWorkerConfig(env)).toThrow(ConfigError);
    expect(() => loadSlurmWorkerConfig(env)).toThrow(message);
  });
});
