import { parseExposition } from './exposition.parser';
import { InvalidLabelError } from './metrics.errors';
import { statusGauge } from './service-up.gauge';

describe('statusGauge', () => {
  it('is 1 for a running service, with HELP and TYPE', () => {
    expect(statusGauge('3652098', 'running')).toBe(
      '# HELP aiplane_service_up Whether the service is running (1) or not (0); the status label says which state it is in.\n' +
        '# TYPE aiplane_service_up gauge\n' +
        'aiplane_service_up{service_id="3652098",status="running"} 1\n',
    );
  });

  it.each(['pending', 'configuring', 'cancelled', 'failed', 'partially_running', 'degraded'])(
    'is 0 for a service that is %s',
    (status) => {
      const [family] = parseExposition(statusGauge('3652098', status));
      expect(family?.samples).toEqual([
        { name: 'aiplane_service_up', labels: { service_id: '3652098', status }, value: '0' },
      ]);
    },
  );

  it('adds labels after service_id and status, which they cannot replace', () => {
    expect(
      statusGauge('7', 'pending', { recipe_name: 'inference/vllm', service_id: 'other', status: 'x' }),
    ).toContain('aiplane_service_up{service_id="7",status="pending",recipe_name="inference/vllm"} 0\n');
  });

  it('refuses a label name Prometheus would not accept', () => {
    expect(() => statusGauge('7', 'pending', { 'bad-name': 'x' })).toThrow(InvalidLabelError);
  });
});
