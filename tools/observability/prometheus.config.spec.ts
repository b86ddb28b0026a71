import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_GATEWAY_URL, prometheusConfig } from './prometheus.config';

describe('prometheusConfig', () => {
  it('is what tools/observability/prometheus.yml holds, for the default gateway', () => {
    expect(readFileSync(join(__dirname, 'prometheus.yml'), 'utf8')).toBe(
      prometheusConfig({ gatewayUrl: DEFAULT_GATEWAY_URL }),
    );
  });

  it("discovers through the gateway's targets route and keeps the samples' own labels", () => {
    const config = prometheusConfig({ gatewayUrl: 'https://gw.example:8443/', scrapeInterval: '1s' });
    expect(config).toContain('      - url: https://gw.example:8443/api/v1/services/targets\n');
    expect(config).toContain('    honor_labels: true\n');
    expect(config).toContain('  scrape_interval: 1s\n');
  });

  it('refuses a gateway URL that is not http(s)', () => {
    expect(() => prometheusConfig({ gatewayUrl: 'ftp://gw:21' })).toThrow(/http:\/\/ or https:\/\//);
    expect(() => prometheusConfig({ gatewayUrl: 'not a url' })).toThrow();
  });
});
