export {
  registerClusterCommand,
  type ClusterCommandContext,
  type ClusterCommandOptions,
} from './cluster.command';
export { CLUSTER_EXIT, ClusterError } from './cluster.errors';
