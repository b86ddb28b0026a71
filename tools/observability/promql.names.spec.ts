import { promqlMetricNames } from './promql.names';

describe('promqlMetricNames', () => {
  it.each<[string, string[]]>([
    ['up', ['up']],
    ['vllm:num_requests_running{service_id=~"$service_id"}', ['vllm:num_requests_running']],
    [
      'histogram_quantile(0.95, sum by (service_id, le) (rate(vllm:time_to_first_token_seconds_bucket{a="b"}[5m])))',
      ['vllm:time_to_first_token_seconds_bucket'],
    ],
    ['sum(rate(a_total[1m])) by (app) / ignoring(x) group_left(y) sum(b)', ['a_total', 'b']],
    ['max without (instance) (foo) > bool 0.5', ['foo']],
    ['rate(foo[5m] offset 1h30m) or on(app) bar unless baz', ['bar', 'baz', 'foo']],
    ['foo{label="has by (x) and rate(y) and {braces} inside"}', ['foo']],
    ["foo{label='single \\' quoted'} * 1e3 + 0x1F", ['foo']],
    ['{__name__="named_by_label", app="x"}', ['named_by_label']],
    ['max_over_time(deriv(foo[1m])[10m:30s])', ['foo']],
    ['count(count by (version) (app_info))', ['app_info']],
    ['aiplane_ssh_tunnel_state == 1', ['aiplane_ssh_tunnel_state']],
    ['label_replace(foo, "dst", "$1", "src", "(.*)")', ['foo']],
    [
      'topk(3, sum by (route) (rate(aiplane_http_requests_total[$__rate_interval])))',
      ['aiplane_http_requests_total'],
    ],
  ])('reads the metric names of %s', (expr, names) => {
    expect(promqlMetricNames(expr)).toEqual(names);
  });

  it.each(['foo{a="b"', 'rate(foo[5m)', 'foo{a="unterminated}', 'foo}'])(
    'refuses %s instead of reading no names from it',
    (expr) => {
      expect(() => promqlMetricNames(expr)).toThrow();
    },
  );
});
