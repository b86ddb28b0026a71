import { Command, CommanderError, Option } from 'commander';
import {
  createCliContext,
  DEFAULT_GATEWAY_URL,
  parseGatewayUrl,
  type CliContext,
  type CliIo,
} from './cli.context';
import { CliError, EXIT, EXIT_CODES_HELP, type ExitCode } from './cli.errors';
import { colorsFor } from './output.format';

/**
 * The root command with the global flags and the house rules every subcommand inherits (errors as
 * exceptions, output to the given streams); features add their commands with register<Feature>Command.
 */
export function createProgram(io: CliIo): { program: Command; ctx: CliContext } {
  const errColors = colorsFor(io.err);
  const program = new Command('aiplane')
    .description('Run and use AI services (vLLM, Qdrant) through the aiplane gateway.')
    .addOption(
      new Option('--url <url>', "the gateway's base URL")
        .env('AIPLANE_URL')
        .default(DEFAULT_GATEWAY_URL)
        .argParser(parseGatewayUrl),
    )
    .option('--json', 'print JSON for scripts instead of tables')
    .configureOutput({
      writeOut: (text) => io.out.write(text),
      writeErr: (text) => io.err.write(text),
      outputError: (text, write) => {
        write(errColors.red(text));
      },
    })
    .showHelpAfterError('(add --help for usage)')
    // Commander's errors become exceptions so that run() owns every exit code.
    .exitOverride()
    .addHelpText('afterAll', `\n${EXIT_CODES_HELP}\n`);
  return { program, ctx: createCliContext(program, io) };
}

/** Parses and runs one command line; resolves with the exit code, having printed any error. */
export async function runProgram(program: Command, io: CliIo, argv: readonly string[]): Promise<ExitCode> {
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    // Commander has already printed its message (or the help it was asked for).
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const colors = colorsFor(io.err);
    if (error instanceof CliError) {
      io.err.write(`${colors.red('aiplane:')} ${error.message}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.err.write(`${colors.red('aiplane: unexpected error:')} ${message}\n`);
    return EXIT.internal;
  }
}
