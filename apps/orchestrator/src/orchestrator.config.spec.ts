import { loadOrchestratorConfig } from './orchestrator.config';

describe('orchestrator config', () => {
  const token = 't'.repeat(32);

  it('refuses to start without ORCHESTRATOR_TOKEN, or with a short one', () => {
    expect(() => loadOrchestratorConfig({})).toThrow(/ORCHESTRATOR_TOKEN: is required: at least 32 bytes/);
    expect(() => loadOrchestratorConfig({ ORCHESTRATOR_TOKEN: 'sixteen-byte-tok' })).toThrow(
      /ORCHESTRATOR_TOKEN: must be at least 32 bytes/,
    );
  });

  it('sends the proxy its own token, or else the orchestrator token', () => {
    expect(loadOrchestratorConfig({ ORCHESTRATOR_TOKEN: token }).PROXY_TOKEN).toBe(token);
    expect(
      loadOrchestratorConfig({ ORCHESTRATOR_TOKEN: token, PROXY_TOKEN: 'p'.repeat(32) }).PROXY_TOKEN,
    ).toBe('p'.repeat(32));
  });

  it('takes a socket for itself and one for the proxy', () => {
    expect(
      loadOrchestratorConfig({
        ORCHESTRATOR_TOKEN: token,
        ORCHESTRATOR_SOCKET: '/run/user/1/aiplane/orchestrator.sock',
        PROXY_SOCKET: '/run/user/1/aiplane/proxy.sock',
        ORCHESTRATOR_PORT: '0',
      }),
    ).toMatchObject({
      ORCHESTRATOR_SOCKET: '/run/user/1/aiplane/orchestrator.sock',
      PROXY_SOCKET: '/run/user/1/aiplane/proxy.sock',
      ORCHESTRATOR_PORT: 0,
    });
  });

  it("reads the fit check's per-partition GPU memory table, MeluXina's gpu partition by default", () => {
    const config = loadOrchestratorConfig({ ORCHESTRATOR_TOKEN: token });
    expect([...config.FIT_GPU_MEMORY_GB]).toEqual([['gpu', 40]]);
    expect(config.FIT_DEFAULT_GPU_MEMORY_GB).toBe(80);
    expect(config.SLURM_PARTITION).toBeUndefined();
    const table = loadOrchestratorConfig({
      ORCHESTRATOR_TOKEN: token,
      FIT_GPU_MEMORY_GB: 'gpu=40, fat = 80,small=15.5,',
    }).FIT_GPU_MEMORY_GB;
    expect([...table]).toEqual([
      ['gpu', 40],
      ['fat', 80],
      ['small', 15.5],
    ]);
    for (const bad of ['gpu', 'gpu=0', 'gpu=forty', 'a b=4', 'gpu=2000']) {
      expect(() => loadOrchestratorConfig({ ORCHESTRATOR_TOKEN: token, FIT_GPU_MEMORY_GB: bad })).toThrow(
        /FIT_GPU_MEMORY_GB: .* is not partition=GB/,
      );
    }
  });
});
