import { parseStartArgs, StartArgsError } from './start-args.parser';

describe('npm start arguments', () => {
  it('none: the environment decides (local by default)', () => {
    expect(parseStartArgs([])).toEqual({ help: false });
  });

  it('--slurm and --local pick the scheduler', () => {
    expect(parseStartArgs(['--slurm'])).toEqual({ help: false, scheduler: 'slurm' });
    expect(parseStartArgs(['--local'])).toEqual({ help: false, scheduler: 'local' });
    expect(parseStartArgs(['--slurm', '--slurm'])).toEqual({ help: false, scheduler: 'slurm' });
  });

  it('--help and -h ask for the usage', () => {
    expect(parseStartArgs(['--help']).help).toBe(true);
    expect(parseStartArgs(['-h', '--slurm'])).toEqual({ help: true, scheduler: 'slurm' });
  });

  it('refuses an unknown argument, naming it, and contradicting flags', () => {
    expect(() => parseStartArgs(['--slrum'])).toThrow(StartArgsError);
    expect(() => parseStartArgs(['--slrum'])).toThrow('unknown argument "--slrum"');
    expect(() => parseStartArgs(['slurm'])).toThrow('unknown argument "slurm"');
    expect(() => parseStartArgs(['--slurm', '--local'])).toThrow('exclude each other');
  });
});
