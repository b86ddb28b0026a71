import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { CLUSTER_EXIT, ClusterError } from './cluster.errors';

const run = promisify(execFile);

/**
 * What the cluster side runs from (start-stack and the apps it starts, the simulators SLURM jobs
 * run, this command's agent, the recipes). The gateway and the examples stay on this machine.
 */
export const CODE_PATHS = [
  'package.json',
  'package-lock.json',
  'recipes',
  'dist/libs',
  'dist/tools/stack',
  'dist/apps/orchestrator',
  'dist/apps/proxy',
  'dist/apps/health-prober',
  'dist/apps/slurm-worker',
  'dist/apps/vllm-sim',
  'dist/apps/qdrant-sim',
  'dist/apps/cli/src/cluster',
] as const;

/** The agent, relative to an install's root. */
export const AGENT_SCRIPT = 'dist/apps/cli/src/cluster/cluster.agent.js';

/** One artefact to ship: a gzip'd tarball (or a file), its sha256, and the name it is installed under. */
export interface Artefact {
  /** Directory name under ~/.aiplane/install on the node. */
  name: string;
  file: string;
  sha256: string;
  bytes: number;
}

interface LockFile {
  lockfileVersion?: number;
  packages?: Record<string, { dev?: boolean; optional?: boolean; extraneous?: boolean } | undefined>;
}

/**
 * The production dependencies' directories from package-lock.json (v2/v3): every package not
 * marked dev-only, without those nested inside another one listed (their parent carries them).
 * `optional` ones are those npm installs only on some platforms: the caller skips the absent.
 */
export function productionPackages(lock: LockFile): { required: string[]; optional: string[] } {
  if (lock.packages === undefined || (lock.lockfileVersion ?? 0) < 2) {
    throw new ClusterError(
      'package-lock.json has no "packages" map (lockfileVersion 2 or 3): run `npm install` with npm 7 or later',
      CLUSTER_EXIT.failed,
    );
  }
  const wanted = Object.entries(lock.packages)
    .filter(
      ([key, entry]) => key.startsWith('node_modules/') && entry?.dev !== true && entry?.extraneous !== true,
    )
    .map(([key]) => key)
    .sort();
  const kept: string[] = [];
  for (const key of wanted) {
    if (!kept.some((parent) => key.startsWith(`${parent}/`))) kept.push(key);
  }
  const optional = (key: string): boolean => lock.packages?.[key]?.optional === true;
  return { required: kept.filter((key) => !optional(key)), optional: kept.filter(optional) };
}

/** The checkout this CLI runs from: the nearest directory up with this project's package.json. */
export function findRoot(start: string): string | undefined {
  let dir = start;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'aiplane') return dir;
      } catch {
        // Not ours; keep looking.
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

async function* filesUnder(root: string, relative: string): AsyncGenerator<string> {
  const full = path.join(root, relative);
  const info = await stat(full);
  if (!info.isDirectory()) {
    yield relative;
    return;
  }
  for (const entry of (await readdir(full)).sort()) yield* filesUnder(root, path.join(relative, entry));
}

/** Names and contents of the shipped code: the same build gives the same version, any change a new one. */
export async function codeVersion(root: string): Promise<string> {
  const hash = createHash('sha256');
  for (const relative of CODE_PATHS) {
    for await (const file of filesUnder(root, relative)) {
      hash.update(`${file}\0`);
      hash.update(await readFile(path.join(root, file)));
      hash.update('\0');
    }
  }
  const version = (
    JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { version?: string }
  ).version;
  return `${version ?? '0.0.0'}-${hash.digest('hex').slice(0, 12)}`;
}

export async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * A cached artefact with its digest, kept beside it (`<file>.sha256`) and taken again only when the
 * file was written after it: re-reading the dependencies' tarball and a Node binary on every
 * `cluster up` costs seconds.
 */
async function artefactAt(name: string, file: string): Promise<Artefact> {
  const digestFile = `${file}.sha256`;
  const artefact = await stat(file);
  // Only a digest taken after the file was last written stands for it.
  const digest = await stat(digestFile).catch(() => undefined);
  let sha256 =
    digest && digest.mtimeMs >= artefact.mtimeMs ? (await readFile(digestFile, 'utf8')).trim() : '';
  if (!/^[0-9a-f]{64}$/.test(sha256)) {
    sha256 = await sha256Of(file);
    await writeFile(digestFile, `${sha256}\n`, { mode: 0o600 });
  }
  return { name, file, sha256, bytes: artefact.size };
}

/** Builds (or reuses from the cache) the tarball of `paths` under `root`. */
async function tarball(
  cacheDir: string,
  name: string,
  root: string,
  paths: readonly string[],
): Promise<Artefact> {
  const file = path.join(cacheDir, `${name}.tar.gz`);
  if (!existsSync(file)) {
    await mkdir(cacheDir, { recursive: true, mode: 0o700 });
    const partial = `${file}.${String(process.pid)}.partial`;
    try {
      await run('tar', ['-czf', partial, '-C', root, '--', ...paths], { maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      await rm(partial, { force: true });
      throw new ClusterError(
        `packing ${name} failed: ${error instanceof Error ? error.message : String(error)}`,
        CLUSTER_EXIT.failed,
      );
    }
    await rename(partial, file);
  }
  return artefactAt(name, file);
}

export interface Bundle {
  version: string;
  code: Artefact;
  deps: Artefact;
}

/**
 * The built code and its production node_modules, as two tarballs: the dependencies change far
 * less often than the code, so a new build ships only the small one. Shipped rather than
 * `npm ci` on the node: login nodes often have no registry access, and it is faster.
 */
export async function makeBundle(root: string, cacheDir: string): Promise<Bundle> {
  const missing = CODE_PATHS.filter((relative) => !existsSync(path.join(root, relative)));
  if (missing.length > 0) {
    throw new ClusterError(
      `${root} has no ${missing.join(', ')}: run \`npm run build\` there first (cluster up ships the built code)`,
      CLUSTER_EXIT.failed,
    );
  }
  const version = await codeVersion(root);
  const lockText = await readFile(path.join(root, 'package-lock.json'), 'utf8');
  const { required, optional } = productionPackages(JSON.parse(lockText) as LockFile);
  const absent = required.filter((relative) => !existsSync(path.join(root, relative)));
  if (absent.length > 0) {
    throw new ClusterError(
      `${root}/node_modules lacks ${absent.slice(0, 3).join(', ')}${absent.length > 3 ? ', ...' : ''}: run \`npm ci\` there first`,
      CLUSTER_EXIT.failed,
    );
  }
  // Native add-ons are built for this platform and Node ABI, so they are part of the key.
  const depsKey = createHash('sha256')
    .update(`${lockText}\0${process.platform}-${process.arch}-${process.versions.modules}`)
    .digest('hex')
    .slice(0, 12);
  return {
    version,
    code: await tarball(cacheDir, `code-${version}`, root, CODE_PATHS),
    deps: await tarball(cacheDir, `deps-${depsKey}`, root, [
      ...required,
      ...optional.filter((relative) => existsSync(path.join(root, relative))),
    ]),
  };
}

/** The name this machine's node binary is shipped and installed under. */
export const NODE_ARTEFACT_NAME = `node-${process.version}-${process.platform}-${process.arch}`;

/** This machine's node binary, gzip'd, for a node without a recent enough one. */
export async function nodeArtefact(cacheDir: string, nodeBinary: string): Promise<Artefact> {
  const name = NODE_ARTEFACT_NAME;
  const file = path.join(cacheDir, `${name}.gz`);
  if (!existsSync(file)) {
    await mkdir(cacheDir, { recursive: true, mode: 0o700 });
    const partial = `${file}.${String(process.pid)}.partial`;
    await run('sh', ['-c', 'gzip -c -- "$1" > "$2"', 'sh', nodeBinary, partial]);
    await rename(partial, file);
  }
  return artefactAt(name, file);
}
