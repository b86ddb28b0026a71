import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/*
 * The committed Grafana dashboards, read as their checks need them: every query of every panel,
 * with what it takes to run it outside Grafana.
 */

export const DASHBOARD_DIR = join(__dirname, 'grafana', 'dashboards');
export const DASHBOARDS = ['control-plane', 'vllm', 'qdrant'] as const;
export type DashboardName = (typeof DASHBOARDS)[number];

export interface PanelQuery {
  dashboard: DashboardName;
  panel: string;
  refId: string;
  expr: string;
}

interface Panel {
  title?: string;
  type?: string;
  targets?: { refId?: string; expr?: string }[];
  panels?: Panel[];
}

export interface Dashboard {
  uid: string;
  title: string;
  templating: { list: { name: string; type: string; query?: unknown }[] };
  panels: Panel[];
}

export function loadDashboard(name: DashboardName): Dashboard {
  return JSON.parse(readFileSync(join(DASHBOARD_DIR, `${name}.json`), 'utf8')) as Dashboard;
}

/** Every query of every panel (rows' nested panels included), in the dashboard's order. */
export function panelQueries(name: DashboardName): PanelQuery[] {
  const queries: PanelQuery[] = [];
  const walk = (panels: readonly Panel[]): void => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (typeof target.expr !== 'string' || target.expr.trim() === '') {
          throw new Error(`${name}: panel "${panel.title ?? '?'}" has a query without an expression`);
        }
        queries.push({
          dashboard: name,
          panel: panel.title ?? '?',
          refId: target.refId ?? '?',
          expr: target.expr,
        });
      }
      walk(panel.panels ?? []);
    }
  };
  walk(loadDashboard(name).panels);
  return queries;
}

/**
 * A query as Prometheus runs it: Grafana's variables replaced. A multi-value variable is used with
 * `=~`, so `values` is a regex (`.*` for All); `$__rate_interval` becomes `rateInterval`.
 */
export function concreteQuery(
  expr: string,
  values: Readonly<Record<string, string>>,
  rateInterval: string,
): string {
  return expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}/g, rateInterval)
    .replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced?: string, bare?: string) => {
      const name = braced ?? bare ?? '';
      const value = values[name];
      if (value === undefined) throw new Error(`no value for dashboard variable $${name} in: ${expr}`);
      return value;
    });
}
