import { useState } from 'react';
import { groupHealth, messageOf, requestJson, servicePath } from '../api/api.client';
import { cancelSchema, serviceRecordSchema } from '../api/api.schemas';
import { ChatPlayground } from '../chat/chat.playground';
import { formatTime, isTerminal } from '../common/display.format';
import { hrefOf, type Page } from '../common/navigation.hook';
import { usePoll } from '../common/poll.hook';
import { LogViewer } from '../logs/log.viewer';
import { MetricsPanel } from '../metrics/metrics.panel';
import { QueueLine, Replicas, StatusBadge, Timeline } from '../services/service.card';

const POLL_MS = 2_000;

/** Cancel, with a second step: it stops the job, and there is no undo. */
function CancelControl({ id, name, onDone }: { id: string; name: string; onDone: () => void }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  async function cancel(): Promise<void> {
    setBusy(true);
    setError(undefined);
    try {
      await requestJson(servicePath(id, '/status'), cancelSchema, {
        method: 'POST',
        body: { status: 'cancelled' },
      });
      setAsking(false);
      onDone();
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="cancel">
      {asking ? (
        <div role="group" aria-label="Confirm cancel">
          <p>
            Cancel <strong>{name}</strong>? Its job is stopped; the record stays.
          </p>
          <button type="button" className="danger" disabled={busy} onClick={() => void cancel()}>
            Yes, cancel the service
          </button>{' '}
          <button
            type="button"
            disabled={busy}
            onClick={() => {
              setAsking(false);
            }}
          >
            Keep it
          </button>
        </div>
      ) : (
        <button
          type="button"
          className="danger"
          onClick={() => {
            setAsking(true);
          }}
        >
          Cancel service
        </button>
      )}
      {error === undefined ? null : (
        <p role="alert" className="error">
          Not cancelled: {error}
        </p>
      )}
    </div>
  );
}

export function ServiceDetail({ id, navigate }: { id: string; navigate: (page: Page) => void }) {
  const { data, error, refresh } = usePoll(
    `service-${id}`,
    async (signal) => {
      const record = await requestJson(servicePath(id), serviceRecordSchema, { signal });
      const health =
        record.type === 'replica_group' && !isTerminal(record.status)
          ? await groupHealth(id, signal)
          : undefined;
      return { record, health };
    },
    POLL_MS,
  );
  const record = data?.record;
  const ended = record !== undefined && isTerminal(record.status);
  const isVllm = record?.recipe_name.startsWith('inference/') ?? false;

  return (
    <>
      <nav>
        <a
          href={hrefOf({ kind: 'services' })}
          onClick={(event) => {
            event.preventDefault();
            navigate({ kind: 'services' });
          }}
        >
          All services
        </a>
      </nav>
      {error === undefined ? null : (
        <p role="alert" className="error">
          Could not read service {id}: {error}
        </p>
      )}
      {record === undefined ? (
        error === undefined ? (
          <p>Loading…</p>
        ) : null
      ) : (
        <>
          <section aria-labelledby="service-heading" className="card detail">
            <header>
              <h2 id="service-heading">{record.name}</h2>
              <StatusBadge status={record.status} />
            </header>
            <dl>
              <dt>Id</dt>
              <dd>{record.id}</dd>
              <dt>Recipe</dt>
              <dd>{record.recipe_name}</dd>
              <dt>Job</dt>
              <dd>{record.job_id ?? '—'}</dd>
              <dt>Endpoint</dt>
              <dd>{record.endpoint ?? '—'}</dd>
              <dt>Created</dt>
              <dd>{formatTime(record.created_at)}</dd>
            </dl>
            {record.status === 'pending' ? <QueueLine queue={record.queue} /> : null}
            <Timeline timeline={record.timeline} />
            {record.type === 'replica_group' ? <Replicas record={record} health={data?.health} /> : null}
            {ended ? null : <CancelControl id={record.id} name={record.name} onDone={refresh} />}
          </section>
          <LogViewer id={record.id} live={!ended} />
          {isVllm ? <MetricsPanel id={record.id} /> : null}
          {isVllm ? <ChatPlayground id={record.id} running={record.status === 'running'} /> : null}
        </>
      )}
    </>
  );
}
