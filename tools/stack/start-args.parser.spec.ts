import { parseStartArgs, START_USAGE, StartArgsError } from './start-args.parser';

describe('npm start arguments', () => {
  it('none: the environment decides (local by default)', () => {
    expect(parseStartArgs([])).toEqual({ help: false, gateway: true });
  });

  it('--slurm and --local pick the scheduler', () => {
    expect(parseStartArgs(['--slurm'])).toEqual({ help: false, gateway: true, scheduler: 'slurm' });
    expect(parseStartArgs(['--local'])).toEqual({ help: false, gateway: true, scheduler: 'local' });
    expect(parseStartArgs(['--slurm', '--slurm'])).toEqual({
      help: false,
      gateway: true,
      scheduler: 'slurm',
    });
  });

  it('--help and -h ask for the usage', () => {
    expect(parseStartArgs(['--help']).help).toBe(true);
    expect(parseStartArgs(['-h', '--slurm'])).toEqual({ help: true, gateway: true, scheduler: 'slurm' });
  });

  it('--no-gateway asks for the cluster side alone', () => {
    expect(parseStartArgs(['--slurm', '--no-gateway'])).toEqual({
      help: false,
      gateway: false,
      scheduler: 'slurm',
    });
    expect(START_USAGE).toContain('--no-gateway');
  });

  it('refuses an unknown argument, naming it, and contradicting flags', () => {
    expect(() => parseStartArgs(['--slrum'])).toThrow(StartArgsError);
    expect(() => parseStartArgs(['--slrum'])).toThrow('unknown argument "--slrum"');
    expect(() => parseStartArgs(['slurm'])).toThrow('unknown argument "slurm"');
    expect(() => parseStartArgs(['--slurm', '--local'])).toThrow('exclude each other');
  });
});
