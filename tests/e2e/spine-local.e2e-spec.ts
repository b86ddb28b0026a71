import { describeSpine } from './support/spine.suite';

// The embedded default of `npm start`: local executor, plain HTTP from gateway to orchestrator.
describeSpine({
  label: 'local-http',
  scheduler: 'local',
  viaSsh: false,
  ports: { gateway: 18201, orchestrator: 18200 },
});
