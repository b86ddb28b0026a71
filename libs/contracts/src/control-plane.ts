/*
 * The control plane's own processes, as its metrics name them (the `app` label) and as the metrics
 * route takes them. Plain data, no framework.
 */

export const CONTROL_PLANE_APPS = [
  'gateway',
  'orchestrator',
  'proxy',
  'slurm-worker',
  'health-prober',
] as const;

export type ControlPlaneApp = (typeof CONTROL_PLANE_APPS)[number];

export function isControlPlaneApp(value: string): value is ControlPlaneApp {
  return (CONTROL_PLANE_APPS as readonly string[]).includes(value);
}

/** What a metrics route answers to an `app` it does not know: a 404 that lists the known ones. */
export function unknownAppMessage(app: string): string {
  return `"${app.slice(0, 64)}" is not a control-plane app: expected one of ${CONTROL_PLANE_APPS.join(', ')}`;
}
