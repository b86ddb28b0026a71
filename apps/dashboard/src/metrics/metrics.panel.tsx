import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { API, errorMessage, servicePath } from '../api/api.client';
import { usePoll } from '../common/poll.hook';
import { readExposition, toPoint, type Point, type Reading } from './metrics.rates';

const POLL_MS = 3_000;
/** Ten minutes at one scrape every three seconds. */
const KEEP = 200;

interface Series {
  label: string;
  value: (point: Point) => number | null;
  stroke: string;
}

interface ChartSpec {
  title: string;
  unit: string;
  series: Series[];
}

const CHARTS: ChartSpec[] = [
  {
    title: 'Requests',
    unit: '',
    series: [
      { label: 'running', value: (point) => point.running, stroke: '#1f77b4' },
      { label: 'finished per second', value: (point) => point.finishedPerSecond, stroke: '#2ca02c' },
    ],
  },
  {
    title: 'Generation tokens per second',
    unit: 'tokens/s',
    series: [{ label: 'tokens/s', value: (point) => point.tokensPerSecond, stroke: '#d62728' }],
  },
  {
    title: 'KV-cache use',
    unit: '%',
    series: [{ label: 'KV cache %', value: (point) => point.kvCachePercent, stroke: '#9467bd' }],
  },
];

function dataOf(spec: ChartSpec, points: Point[]): uPlot.AlignedData {
  return [points.map((point) => point.at), ...spec.series.map((series) => points.map(series.value))];
}

function format(value: number | null | undefined, unit: string): string {
  if (value === null || value === undefined) return '—';
  return `${value.toFixed(value >= 100 ? 0 : 2)}${unit === '' ? '' : ` ${unit}`}`;
}

/** One uPlot chart, created once and fed new data as scrapes arrive. */
function Chart({ spec, points }: { spec: ChartSpec; points: Point[] }) {
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot>(null);

  useEffect(() => {
    const element = holder.current;
    if (element === null) return;
    const chart = new uPlot(
      {
        width: Math.max(element.clientWidth, 240),
        height: 160,
        scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(1, max)] } },
        series: [
          {},
          ...spec.series.map((series) => ({ label: series.label, stroke: series.stroke, width: 2 })),
        ],
        axes: [{}, { size: 50 }],
      },
      [[], ...spec.series.map(() => [])],
      element,
    );
    plot.current = chart;
    const resize = new ResizeObserver(() => {
      chart.setSize({ width: Math.max(element.clientWidth, 240), height: 160 });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [spec]);

  useEffect(() => {
    plot.current?.setData(dataOf(spec, points));
  }, [spec, points]);

  const last = points[points.length - 1];
  return (
    <figure className="chart" aria-label={`${spec.title} chart`}>
      <figcaption>
        {spec.title}:{' '}
        {spec.series.map((series) => (
          <span key={series.label} className="latest">
            {series.label} {format(last === undefined ? null : series.value(last), spec.unit)}
          </span>
        ))}
      </figcaption>
      <div ref={holder} className="plot" />
    </figure>
  );
}

/** The workload's own metrics (Prometheus text through the gateway), scraped every few seconds. */
export function MetricsPanel({ id }: { id: string }) {
  // Rates need the reading before; the charts keep the last KEEP points.
  const previous = useRef<Reading | undefined>(undefined);
  const history = useRef<Point[]>([]);
  const { data: points = [], error } = usePoll(
    `metrics:${id}`,
    async (signal) => {
      const response = await fetch(`${API}${servicePath(id, '/metrics')}`, { signal });
      if (!response.ok) throw new Error(await errorMessage(response));
      const reading = readExposition(await response.text(), Date.now() / 1000);
      const point = toPoint(previous.current, reading);
      previous.current = reading;
      history.current = [...history.current, point].slice(-KEEP);
      return history.current;
    },
    POLL_MS,
  );

  return (
    <section aria-labelledby="metrics-heading">
      <h2 id="metrics-heading">Metrics</h2>
      {error === undefined ? null : (
        <p role="status" className="error">
          Metrics not available now: {error}
        </p>
      )}
      <div className="charts">
        {CHARTS.map((spec) => (
          <Chart key={spec.title} spec={spec} points={points} />
        ))}
      </div>
    </section>
  );
}
