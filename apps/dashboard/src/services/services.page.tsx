import { groupHealth, requestJson } from '../api/api.client';
import { serviceListSchema, type GroupStatus, type ServiceRecord } from '../api/api.schemas';
import { isTerminal } from '../common/display.format';
import type { Page } from '../common/navigation.hook';
import { usePoll } from '../common/poll.hook';
import { CreateForm } from '../create/create.form';
import { ServiceCard } from './service.card';

interface Overview {
  services: ServiceRecord[];
  groups: Map<string, GroupStatus>;
}

const POLL_MS = 2_000;

/** Every service, and each live group's replica health (status reads do not wake an idle service). */
async function loadOverview(signal: AbortSignal): Promise<Overview> {
  const services = await requestJson('/services', serviceListSchema, { signal });
  const live = services.filter((record) => record.type === 'replica_group' && !isTerminal(record.status));
  const groups = new Map<string, GroupStatus>();
  await Promise.all(
    live.map(async (record) => {
      const health = await groupHealth(record.id, signal);
      if (health) groups.set(record.id, health);
    }),
  );
  return { services, groups };
}

export function ServicesPage({ navigate }: { navigate: (page: Page) => void }) {
  const { data, error, refresh } = usePoll('services', loadOverview, POLL_MS);
  // Newest first: what was just created is on top.
  const services = [...(data?.services ?? [])].sort((a, b) =>
    (b.created_at ?? '').localeCompare(a.created_at ?? ''),
  );
  return (
    <>
      <section aria-labelledby="create-heading">
        <h2 id="create-heading">Create a service</h2>
        <CreateForm onCreated={refresh} />
      </section>
      <section aria-labelledby="services-heading">
        <h2 id="services-heading">Services</h2>
        {error ? (
          <p role="alert" className="error">
            Could not list the services: {error}
          </p>
        ) : null}
        {data === undefined && error === undefined ? <p>Loading…</p> : null}
        {data !== undefined && services.length === 0 ? <p>No services yet: create one above.</p> : null}
        <div className="cards">
          {services.map((record) => (
            <ServiceCard
              key={record.id}
              record={record}
              health={data?.groups.get(record.id)}
              onOpen={() => {
                navigate({ kind: 'service', id: record.id });
              }}
            />
          ))}
        </div>
      </section>
    </>
  );
}
