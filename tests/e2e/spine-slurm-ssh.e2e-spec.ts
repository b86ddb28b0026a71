import { describeSpine } from './support/spine.suite';

// The product's real shape: gateway → SSH tunnel → orchestrator → BullMQ → slurm-worker → sbatch.
describeSpine({
  label: 'slurm-ssh',
  scheduler: 'slurm',
  viaSsh: true,
  ports: { gateway: 18101, orchestrator: 18100 },
});
