import { parseWrkReport, renderWrkScript } from './wrk.runner';

describe('wrk', () => {
  it('writes a script that posts the JSON body with the headers given', () => {
    const script = renderWrkScript({
      method: 'POST',
      body: { a: ']]' },
      headers: { authorization: 'Bearer k' },
    });
    expect(script).toContain('wrk.method = [=[POST]=]');
    expect(script).toContain('wrk.body = [=[{"a":"]]"}]=]');
    expect(script).toContain('wrk.headers["Content-Type"] = "application/json"');
    // `[[` would open a Lua long string instead of indexing the table.
    expect(script).toContain('wrk.headers[ [=[authorization]=] ] = [=[Bearer k]=]');
    expect(script).toContain('function done(summary, latency, requests)');
  });

  it('reads the summary line, counting only good answers in the rate', () => {
    const report = parseWrkReport(
      'Running 1s test\nBENCH_WRK_RESULT {"requests":1000,"duration_us":2000000,"connect":0,"read":1,' +
        '"write":0,"status":100,"timeout":2,"p50_us":1500,"p99_us":9000}\nRequests/sec: 500\n',
    );
    expect(report).toEqual({
      requests: 1000,
      durationS: 2,
      non2xx: 100,
      socketErrors: 3,
      requestsPerS: 450,
      p50Ms: 1.5,
      p99Ms: 9,
    });
  });

  it('has nothing to report when wrk did not finish', () => {
    expect(parseWrkReport('unable to connect to 127.0.0.1:1')).toBeUndefined();
    expect(parseWrkReport('BENCH_WRK_RESULT {"requests":1}')).toBeUndefined();
  });
});
