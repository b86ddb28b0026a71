import type { GroupStatus, ServiceRecord } from '../api/api.schemas';
import { formatTime, statusTone } from '../common/display.format';

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${statusTone(status)}`}>{status}</span>;
}

/** Where a pending job stands in the scheduler's queue. */
export function QueueLine({ queue }: { queue: ServiceRecord['queue'] }) {
  if (queue === null || queue === undefined) return null;
  return (
    <p className="queue">
      Queue position {queue.position ?? '?'}
      {queue.reason ? ` (${queue.reason})` : ''}, estimated start{' '}
      {queue.estimated_start ? formatTime(queue.estimated_start) : 'unknown'}
    </p>
  );
}

const PHASES = [
  ['submitted_at', 'Submitted'],
  ['started_at', 'Started'],
  ['ready_at', 'Ready'],
  ['ended_at', 'Ended'],
] as const;

export function Timeline({ timeline }: { timeline: ServiceRecord['timeline'] }) {
  return (
    <ol className="timeline" aria-label="Timeline">
      {PHASES.map(([field, label]) => {
        const at = timeline?.[field];
        return (
          <li key={field} className={at ? 'done' : 'todo'}>
            <span className="phase">{label}</span> <time>{formatTime(at)}</time>
          </li>
        );
      })}
    </ol>
  );
}

/** A group's replicas with the health the prober last saw, else as the record lists them. */
export function Replicas({ record, health }: { record: ServiceRecord; health: GroupStatus | undefined }) {
  const replicas =
    health?.replica_statuses ??
    (record.node_jobs ?? []).flatMap((job) =>
      job.replicas.map((replica) => ({ ...replica, healthy: replica.status === 'running' })),
    );
  if (replicas.length === 0) return null;
  return (
    <div className="replicas">
      <p>
        Replicas:{' '}
        {health
          ? `${String(health.healthy_replicas)} of ${String(health.total_replicas)} healthy`
          : replicas.length}
      </p>
      <ul aria-label={`Replicas of ${record.name}`}>
        {replicas.map((replica) => (
          <li key={replica.id}>
            <code>{replica.id}</code> <StatusBadge status={replica.status} />{' '}
            <span className={replica.healthy ? 'healthy' : 'unhealthy'}>
              {replica.healthy ? 'healthy' : 'not healthy'}
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function ServiceCard({
  record,
  health,
  onOpen,
}: {
  record: ServiceRecord;
  health: GroupStatus | undefined;
  onOpen: () => void;
}) {
  return (
    <article className="card" aria-label={`Service ${record.name}`} data-service-id={record.id}>
      <header>
        <h3>{record.name}</h3>
        <StatusBadge status={record.status} />
      </header>
      <dl>
        <dt>Id</dt>
        <dd>{record.id}</dd>
        <dt>Recipe</dt>
        <dd>{record.recipe_name}</dd>
        {record.endpoint ? (
          <>
            <dt>Endpoint</dt>
            <dd>{record.endpoint}</dd>
          </>
        ) : null}
      </dl>
      {record.status === 'pending' ? <QueueLine queue={record.queue} /> : null}
      <Timeline timeline={record.timeline} />
      {record.type === 'replica_group' ? <Replicas record={record} health={health} /> : null}
      {(record.warnings ?? []).map((warning) => (
        <p key={warning} className="warning">
          {warning}
        </p>
      ))}
      <button type="button" onClick={onOpen} aria-label={`Open ${record.name}`}>
        Open
      </button>
    </article>
  );
}
