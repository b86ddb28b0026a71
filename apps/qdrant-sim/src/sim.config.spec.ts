import { DEFAULT_QDRANT_VERSION, loadSimConfig, SimConfigError } from './sim.config';

describe('loadSimConfig', () => {
  it('uses Qdrant defaults for an empty environment', () => {
    expect(loadSimConfig({})).toEqual({
      host: '0.0.0.0',
      httpPort: 6333,
      grpcPort: 6334,
      apiKey: undefined,
      readOnlyApiKey: undefined,
      maxRequestBytes: 32 * 1024 * 1024,
      storagePath: undefined,
      startupDelayMs: 0,
      failRate: 0,
      version: DEFAULT_QDRANT_VERSION,
    });
    expect(DEFAULT_QDRANT_VERSION).toBe('1.18.2');
  });

  it('reads every variable the job and the simulator set', () => {
    const config = loadSimConfig({
      QDRANT__SERVICE__HOST: '127.0.0.1',
      QDRANT__SERVICE__HTTP_PORT: '6400',
      QDRANT__SERVICE__GRPC_PORT: '6401',
      QDRANT__SERVICE__API_KEY: 'secret',
      QDRANT__SERVICE__READ_ONLY_API_KEY: 'reader',
      QDRANT__SERVICE__MAX_REQUEST_SIZE_MB: '2',
      QDRANT__STORAGE__STORAGE_PATH: '/scratch/job/qdrant/storage',
      QDRANT__LOG_LEVEL: 'INFO',
      QDRANT__TELEMETRY_DISABLED: 'true',
      SIM_STARTUP_DELAY_MS: '1500',
      SIM_FAIL_RATE: '0.25',
      SIM_QDRANT_VERSION: '1.19.0',
    });
    expect(config).toEqual({
      host: '127.0.0.1',
      httpPort: 6400,
      grpcPort: 6401,
      apiKey: 'secret',
      readOnlyApiKey: 'reader',
      maxRequestBytes: 2 * 1024 * 1024,
      storagePath: '/scratch/job/qdrant/storage',
      startupDelayMs: 1500,
      failRate: 0.25,
      version: '1.19.0',
    });
  });

  it('treats blank variables as unset but keeps keys byte for byte', () => {
    const config = loadSimConfig({
      QDRANT__SERVICE__HTTP_PORT: '',
      QDRANT__SERVICE__API_KEY: '  ',
      QDRANT__STORAGE__STORAGE_PATH: '',
      QDRANT__SERVICE__READ_ONLY_API_KEY: ' spaced ',
    });
    expect(config.httpPort).toBe(6333);
    expect(config.apiKey).toBeUndefined();
    expect(config.storagePath).toBeUndefined();
    expect(config.readOnlyApiKey).toBe(' spaced ');
  });

  it.each([
    ['QDRANT__SERVICE__HTTP_PORT', 'abc'],
    ['QDRANT__SERVICE__HTTP_PORT', '70000'],
    ['QDRANT__SERVICE__GRPC_PORT', '-1'],
    ['QDRANT__SERVICE__MAX_REQUEST_SIZE_MB', '0'],
    ['SIM_STARTUP_DELAY_MS', '1.5'],
    ['SIM_FAIL_RATE', '1.5'],
    ['SIM_FAIL_RATE', 'often'],
  ])('rejects %s=%s with a message naming the variable', (name, value) => {
    let caught: unknown;
    try {
      loadSimConfig({ [name]: value });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SimConfigError);
    const error = caught as SimConfigError;
    expect(error.code).toBe('SIM_CONFIG_INVALID');
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toContain(`${name}=${JSON.stringify(value)}`);
  });

  it('reports all problems at once', () => {
    expect(() => loadSimConfig({ QDRANT__SERVICE__HTTP_PORT: 'x', SIM_FAIL_RATE: '2' })).toThrow(
      /QDRANT__SERVICE__HTTP_PORT[\s\S]*SIM_FAIL_RATE/,
    );
  });
});
