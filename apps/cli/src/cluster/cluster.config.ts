import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { parseConfig } from '@aiplane/config';

const blank = (value: unknown): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;
const optionalPath = z.preprocess(blank, z.string().min(1).optional());

/** What `aiplane cluster` reads from the environment; the rest passes untouched to ssh and the gateway. */
const schema = z.looseObject({
  HOME: optionalPath,
  XDG_STATE_HOME: optionalPath,
  XDG_CACHE_HOME: optionalPath,
  /** The checkout whose dist/ is shipped and whose gateway runs here; by default the one this CLI runs from. */
  AIPLANE_ROOT: optionalPath,
});

export interface ClusterConfig {
  home: string;
  /** This machine's side: the detached gateway's record and log, ssh's control sockets, the gateway's pins. */
  stateDir: string;
  /** Bundles made for shipping, reused while the build is the same. */
  cacheDir: string;
  root: string | undefined;
  /** The environment ssh and the local gateway start with. */
  env: Record<string, string>;
}

export function loadClusterConfig(env: Readonly<Record<string, string | undefined>>): ClusterConfig {
  const config = parseConfig('aiplane cluster', schema, env);
  const home = config.HOME ?? os.homedir();
  const inherited: Record<string, string> = {};
  for (const [name, value] of Object.entries(config)) if (typeof value === 'string') inherited[name] = value;
  return {
    home,
    stateDir: path.join(config.XDG_STATE_HOME ?? path.join(home, '.local', 'state'), 'aiplane'),
    cacheDir: path.join(config.XDG_CACHE_HOME ?? path.join(home, '.cache'), 'aiplane', 'cluster'),
    root: config.AIPLANE_ROOT,
    env: inherited,
  };
}
