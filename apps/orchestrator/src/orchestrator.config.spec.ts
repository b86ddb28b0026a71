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
});
