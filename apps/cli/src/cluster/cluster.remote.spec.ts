import { archOfUname, nodeVersionAtLeast, parseProbe } from './cluster.remote';

const PROBE = [
  'home=/home/u1',
  'uid=1001',
  'os=Linux',
  'arch=x86_64',
  'node_name=login03.lxp.lu',
  'base_owner=1001',
  'base_mode=drwx------',
  'has_sbatch=/usr/bin/sbatch',
  'has_squeue=/usr/bin/squeue',
  'has_scancel=',
  'has_scontrol=/usr/bin/scontrol',
  'has_tar=/usr/bin/tar',
  'has_gzip=/usr/bin/gzip',
  'sha256=sha256sum',
  'redis=',
  'path_node=/usr/bin/node',
  'path_node_version=v18.19.0',
  'deps_installed=1',
  '',
].join('\n');

describe('the node probe', () => {
  it('reads what the node has and lacks', () => {
    expect(parseProbe(PROBE)).toEqual({
      home: '/home/u1',
      uid: 1001,
      os: 'Linux',
      arch: 'x86_64',
      nodeName: 'login03.lxp.lu',
      baseOwner: 1001,
      baseMode: 'drwx------',
      missingCommands: ['scancel'],
      sha256Tool: 'sha256sum',
      redis: undefined,
      pathNode: { path: '/usr/bin/node', version: 'v18.19.0' },
      shippedNode: undefined,
      codeInstalled: false,
      depsInstalled: true,
    });
  });

  it('stops at a root login before anything else', () => {
    expect(parseProbe('home=/root\nuid=0\n')).toMatchObject({ uid: 0, home: '/root' });
  });

  it('refuses an answer that is not the probe (a banner, a broken shell)', () => {
    expect(() => parseProbe('Welcome to the cluster!\n')).toThrow('did not answer the probe');
  });

  it('compares Node.js versions with the engines floor', () => {
    expect(nodeVersionAtLeast('v20.11.0', [20, 11])).toBe(true);
    expect(nodeVersionAtLeast('v22.1.0', [20, 11])).toBe(true);
    expect(nodeVersionAtLeast('v20.10.9', [20, 11])).toBe(false);
    expect(nodeVersionAtLeast('v18.19.0', [20, 11])).toBe(false);
    expect(nodeVersionAtLeast('', [20, 11])).toBe(false);
  });

  it("names uname's architectures as Node.js does", () => {
    expect(archOfUname('x86_64')).toBe('x64');
    expect(archOfUname('aarch64')).toBe('arm64');
    expect(archOfUname('riscv64')).toBe('riscv64');
  });
});
