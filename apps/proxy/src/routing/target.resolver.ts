import { Injectable } from '@nestjs/common';
import { deriveStatus, type ServiceStatus } from '@aiplane/contracts';
import { ServiceRegistry, type StoredService, type WorkloadKind } from '@aiplane/registry';
import { AppError, NotFoundError } from '@aiplane/server-kit';

export interface Target {
  service: StoredService;
  /** Replica id as the contract shows it: `<job_id>:<port>`. */
  replicaId: string;
  endpoint: string;
}

export class NotReadyError extends AppError {
  constructor(id: string, status: ServiceStatus) {
    super(503, 'Service not ready', `Service ${id} is ${status}; it accepts requests once it is running`, {
      status,
    });
  }
}

function replicaIdOf(service: StoredService, endpoint: string): string {
  return `${service.job_id}:${new URL(endpoint).port}`;
}

/** Turns a service id into the workload endpoint to call, from the records the worker and prober keep. */
@Injectable()
export class TargetResolver {
  constructor(private readonly registry: ServiceRegistry) {}

  async resolve(id: string, kind: WorkloadKind): Promise<Target> {
    const service = await this.registry.get(id);
    if (!service || service.kind !== kind) {
      throw new NotFoundError(`${kind === 'vllm' ? 'vLLM' : 'Vector DB'} service ${id} not found`);
    }
    const status = deriveStatus(service.scheduler_state, service.ready);
    if (status !== 'running' || !service.endpoint) throw new NotReadyError(id, status);
    return { service, endpoint: service.endpoint, replicaId: replicaIdOf(service, service.endpoint) };
  }

  /** A refused connection takes the workload out of rotation now; the prober brings it back. */
  async markDown(target: Target): Promise<void> {
    await this.registry.setReadiness(target.service.id, false);
  }
}
