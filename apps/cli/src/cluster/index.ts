export { registerClusterCommand } from './cluster.command';
