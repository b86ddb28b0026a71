import { workloadAuthHeaders } from './workload-auth';

describe('workloadAuthHeaders', () => {
  it("speaks each workload's scheme: a bearer token for vLLM, the api-key header for Qdrant", () => {
    expect(workloadAuthHeaders({ kind: 'vllm', api_key: 'k1' })).toEqual({ authorization: 'Bearer k1' });
    expect(workloadAuthHeaders({ kind: 'qdrant', api_key: 'k2' })).toEqual({ 'api-key': 'k2' });
  });

  it('sends nothing for a record from before keys existed (its workload has none)', () => {
    expect(workloadAuthHeaders({ kind: 'vllm' })).toEqual({});
    expect(workloadAuthHeaders({ kind: 'qdrant' })).toEqual({});
  });
});
