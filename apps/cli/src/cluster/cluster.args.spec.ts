import { InvalidArgumentError } from 'commander';
import {
  hostPart,
  parsePartition,
  parsePort,
  parseRemotePath,
  parseSshHost,
  parseTimeoutSeconds,
  shellQuote,
} from './cluster.args';

describe('cluster arguments', () => {
  it('takes an alias, a host name or user@host', () => {
    expect(parseSshHost('meluxina')).toBe('meluxina');
    expect(parseSshHost(' u100123@login.lxp.lu ')).toBe('u100123@login.lxp.lu');
    expect(hostPart('u100123@login.lxp.lu')).toBe('login.lxp.lu');
    expect(hostPart('meluxina')).toBe('meluxina');
  });

  it('refuses what ssh would read as an option or a shell would split, saying what to give', () => {
    expect(() => parseSshHost('-oProxyCommand=sh')).toThrow(InvalidArgumentError);
    expect(() => parseSshHost('-oProxyCommand=sh')).toThrow('not an ssh option');
    expect(() => parseSshHost('host;rm -rf ~')).toThrow('is not a host ssh can take');
    expect(() => parseSshHost('a b')).toThrow('is not a host ssh can take');
    expect(() => parseSshHost('$(id)')).toThrow('is not a host ssh can take');
    expect(() => parseSshHost('  ')).toThrow('give the login node');
  });

  it('checks ports, timeouts, partitions and remote paths', () => {
    expect(parsePort('8001')).toBe(8001);
    for (const bad of ['0', '65536', '80.5', 'http', '-1']) {
      expect(() => parsePort(bad)).toThrow('give a number from 1 to 65535');
    }
    expect(parseTimeoutSeconds('90')).toBe(90);
    expect(() => parseTimeoutSeconds('0')).toThrow('whole seconds from 1 to 3600');
    expect(() => parseTimeoutSeconds('2m')).toThrow('whole seconds from 1 to 3600');
    expect(parsePartition('gpu')).toBe('gpu');
    expect(() => parsePartition('gpu;id')).toThrow('is not a SLURM partition name');
    expect(parseRemotePath('/opt/redis/bin/redis-server')).toBe('/opt/redis/bin/redis-server');
    expect(() => parseRemotePath('redis-server')).toThrow('is not an absolute path');
    expect(() => parseRemotePath('/tmp/$(id)')).toThrow('is not an absolute path');
  });

  it('quotes one shell argument whatever it holds', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('')).toBe("''");
  });
});
