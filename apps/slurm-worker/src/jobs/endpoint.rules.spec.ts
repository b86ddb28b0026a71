import { endpointHostProblem } from './endpoint.rules';

describe('endpointHostProblem', () => {
  it("accepts the job's node, bare or with a domain, and the hosts the worker configured", () => {
    expect(endpointHostProblem('http://gpu-07:8001', ['gpu-07'], [])).toBeUndefined();
    expect(endpointHostProblem('http://gpu-07.cluster.local:8001', ['gpu-07'], [])).toBeUndefined();
    expect(endpointHostProblem('http://127.0.0.1:8001', ['gpu-07'], ['127.0.0.1'])).toBeUndefined();
  });

  it('refuses another host, a look-alike prefix, and any host while the node is unknown', () => {
    expect(endpointHostProblem('http://gpu-08:8001', ['gpu-07'], [])).toMatch(
      /gpu-08 is not the job's node \(gpu-07\)/,
    );
    expect(endpointHostProblem('http://gpu-070:8001', ['gpu-07'], [])).toBeDefined();
    expect(endpointHostProblem('http://evil.example:8001', [], [])).toMatch(/none reported/);
  });
});
