import { parseStat, readCpuMs } from './cpu.gauge';

describe('cpu gauge', () => {
  it('reads ppid and utime+stime after a command name holding spaces and parentheses', () => {
    const stat = '4242 (node (x) y) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 11 0 1 2 3';
    expect(parseStat(stat)).toEqual({ ppid: 17, cpuTicks: 281 });
    expect(parseStat('garbage')).toBeUndefined();
  });

  it('reads this process and nothing for one that is gone', () => {
    expect(readCpuMs(process.pid)).toEqual(expect.any(Number));
    expect(readCpuMs(2 ** 22 + 1)).toBeUndefined();
  });
});
