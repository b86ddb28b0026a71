/**
 * The shell side of the bootstrap: what runs on the login node before there is a Node.js to run
 * the agent with. POSIX sh, as the SSH user, touching nothing outside ~/.aiplane.
 */

/** Where everything lives on the node, relative to the SSH user's home. */
export const REMOTE_BASE = '.aiplane';

/**
 * What the node has: key=value lines. $1 code install name, $2 deps install name, $3 node artefact name,
 * $4 redis-server to use ('' = the one on PATH).
 */
export const PROBE_SCRIPT = String.raw`
set -u
umask 077
echo "home=$HOME"
echo "uid=$(id -u)"
# As root nothing is created: cluster up refuses to go on.
[ "$(id -u)" = 0 ] && exit 0
base="$HOME/.aiplane"
mkdir -p "$base" "$base/install" "$base/install/.incoming" "$base/logs" "$base/run" 2>/dev/null
chmod 700 "$base" "$base/install" "$base/install/.incoming" "$base/logs" "$base/run" 2>/dev/null
echo "os=$(uname -s)"
echo "arch=$(uname -m)"
echo "node_name=$(hostname -f 2>/dev/null || hostname)"
echo "base_owner=$(ls -ldn "$base" | awk '{print $3}')"
echo "base_mode=$(ls -ld "$base" | cut -c1-10)"
for cmd in sbatch squeue scancel scontrol tar gzip; do
  echo "has_$cmd=$(command -v "$cmd" || true)"
done
if command -v sha256sum >/dev/null 2>&1; then echo "sha256=sha256sum"; elif command -v shasum >/dev/null 2>&1; then echo "sha256=shasum"; else echo "sha256="; fi
redis="$4"
[ -n "$redis" ] || redis=redis-server
echo "redis=$(command -v "$redis" || true)"
echo "path_node=$(command -v node || true)"
if command -v node >/dev/null 2>&1; then echo "path_node_version=$(node --version 2>/dev/null || true)"; fi
shipped="$base/install/$3/bin/node"
if [ -x "$shipped" ]; then echo "shipped_node=$shipped"; echo "shipped_node_version=$("$shipped" --version 2>/dev/null || true)"; fi
[ -f "$base/install/$1/.complete" ] && echo "code_installed=1"
[ -f "$base/install/$2/.complete" ] && echo "deps_installed=1"
exit 0
`;

/** What the probe found, parsed. */
export interface NodeFacts {
  home: string;
  uid: number;
  os: string;
  arch: string;
  nodeName: string;
  baseOwner: number;
  baseMode: string;
  missingCommands: string[];
  sha256Tool: 'sha256sum' | 'shasum' | undefined;
  redis: string | undefined;
  pathNode: { path: string; version: string } | undefined;
  shippedNode: { path: string; version: string } | undefined;
  codeInstalled: boolean;
  depsInstalled: boolean;
}

export function parseProbe(output: string): NodeFacts {
  const values = new Map<string, string>();
  for (const line of output.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) values.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  const get = (key: string): string => values.get(key) ?? '';
  const home = get('home');
  if (home === '' || !/^\d+$/.test(get('uid'))) {
    throw new Error(`the login node did not answer the probe as expected:\n${output.slice(0, 500)}`);
  }
  const tool = get('sha256');
  const pathNode = get('path_node');
  const shipped = get('shipped_node');
  return {
    home,
    uid: Number(get('uid')),
    os: get('os'),
    arch: get('arch'),
    nodeName: get('node_name'),
    baseOwner: Number(get('base_owner')),
    baseMode: get('base_mode'),
    missingCommands: ['sbatch', 'squeue', 'scancel', 'scontrol', 'tar', 'gzip'].filter(
      (cmd) => get(`has_${cmd}`) === '',
    ),
    sha256Tool: tool === 'sha256sum' || tool === 'shasum' ? tool : undefined,
    redis: get('redis') || undefined,
    pathNode: pathNode === '' ? undefined : { path: pathNode, version: get('path_node_version') },
    shippedNode: shipped === '' ? undefined : { path: shipped, version: get('shipped_node_version') },
    codeInstalled: get('code_installed') === '1',
    depsInstalled: get('deps_installed') === '1',
  };
}

/** Node.js `vX.Y.Z` at least `min` (major, minor)? */
export function nodeVersionAtLeast(version: string, min: readonly [number, number]): boolean {
  const match = /^v(\d+)\.(\d+)\.\d+/.exec(version.trim());
  if (match === null) return false;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  return major > min[0] || (major === min[0] && minor >= min[1]);
}

/** uname -m as Node's process.arch names it. */
export function archOfUname(uname: string): string {
  const names: Record<string, string> = {
    x86_64: 'x64',
    amd64: 'x64',
    aarch64: 'arm64',
    arm64: 'arm64',
    ppc64le: 'ppc64',
  };
  return names[uname] ?? uname;
}

/**
 * Installs one uploaded artefact: checks its sha256, unpacks it beside its final place and moves it
 * there, so an interrupted install is never taken for a complete one. $1 name, $2 sha256, $3 kind
 * (tar | node), $4 sha256 tool, $5 deps name the code links its node_modules to ('' for none).
 */
export const INSTALL_SCRIPT = String.raw`
set -eu
umask 077
install="$HOME/.aiplane/install"
incoming="$install/.incoming/$1"
if [ "$4" = sha256sum ]; then sum=$(sha256sum "$incoming" | cut -d' ' -f1); else sum=$(shasum -a 256 "$incoming" | cut -d' ' -f1); fi
if [ "$sum" != "$2" ]; then
  rm -f "$incoming"
  echo "checksum mismatch for $1: expected $2, got $sum (the copy was damaged; run cluster up again)" >&2
  exit 3
fi
rm -rf "$install/$1.partial"
mkdir -p "$install/$1.partial"
if [ "$3" = node ]; then
  mkdir -p "$install/$1.partial/bin"
  gzip -dc "$incoming" > "$install/$1.partial/bin/node"
  chmod 700 "$install/$1.partial/bin/node"
  if ! "$install/$1.partial/bin/node" --version >/dev/null 2>&1; then
    rm -rf "$install/$1.partial" "$incoming"
    echo "the copied Node.js does not run on this node (another C library?): install Node.js 20.11 or later there (e.g. \`module load nodejs\`) and put it on PATH" >&2
    exit 4
  fi
else
  tar -xzf "$incoming" -C "$install/$1.partial"
fi
if [ -n "$5" ]; then ln -s "../$5/node_modules" "$install/$1.partial/node_modules"; fi
touch "$install/$1.partial/.complete"
rm -rf "$install/$1"
mv "$install/$1.partial" "$install/$1"
rm -f "$incoming"
`;

/**
 * Starts the cluster side through the agent of install $1 with the Node.js at $2; $3 SLURM
 * partition ('' = the cluster's default), $4 redis-server ('' = on PATH), $5 timeout in ms.
 * The runtime dir is pinned to ~/.aiplane/run: $XDG_RUNTIME_DIR is removed by logind when the
 * last SSH session ends, and the sockets with it.
 */
export const START_SCRIPT = String.raw`
set -eu
umask 077
root="$HOME/.aiplane/install/$1"
node="$2"
PATH="$(dirname "$node"):$PATH"
AIPLANE_ROOT="$root"
AIPLANE_RUNTIME_DIR="$HOME/.aiplane/run"
AIPLANE_STATE_DIR="$HOME/.aiplane/state"
SCHEDULER=slurm
export PATH AIPLANE_ROOT AIPLANE_RUNTIME_DIR AIPLANE_STATE_DIR SCHEDULER
unset GATEWAY_PORT REDIS_URL
if [ -n "$3" ]; then SLURM_PARTITION="$3"; export SLURM_PARTITION; fi
if [ -n "$4" ]; then REDIS_SERVER_BIN="$4"; export REDIS_SERVER_BIN; fi
cd "$root"
exec "$node" "$root/dist/apps/cli/src/cluster/cluster.agent.js" start --timeout-ms "$5"
`;

/**
 * Runs the agent of the cluster side that runs now (the install and the Node.js it was started
 * from, read from /proc), with the arguments given; when none runs, says so as the agent would.
 */
export const AGENT_RUN_SCRIPT = String.raw`
set -u
pidfile="$HOME/.aiplane/cluster.pid"
not_running() {
  echo "{\"ok\":true,\"running\":false,\"message\":\"no cluster side was running here$1\"}"
  exit 0
}
[ -f "$pidfile" ] || not_running ""
pid=$(cat "$pidfile")
case "$pid" in ''|*[!0-9]*) rm -f "$pidfile"; not_running " (removed a damaged pid file)";; esac
if ! kill -0 "$pid" 2>/dev/null || ! tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q 'tools/stack/start-stack.js'; then
  rm -f "$pidfile"
  not_running " (removed a stale pid file)"
fi
root=$(readlink "/proc/$pid/cwd")
exe=$(readlink "/proc/$pid/exe")
cd "$root"
exec "$exe" "$root/dist/apps/cli/src/cluster/cluster.agent.js" "$@"
`;
