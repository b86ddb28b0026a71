import { registerBenchCommand } from './bench/bench.command';
import { registerChatCommand } from './chat/chat.command';
import { createProgram, runProgram } from './common/cli.program';
import { registerClusterCommand } from './cluster';
import { EXIT } from './common/cli.errors';
import { registerGroupsCommand } from './groups/groups.command';
import { registerModelsCommand } from './models/models.command';
import { registerRecipesCommand } from './recipes/recipes.command';
import { registerServicesCommand } from './services/services.command';

const io = { out: process.stdout, err: process.stderr, input: process.stdin };
const { program, ctx } = createProgram(io);

// One line per feature.
registerServicesCommand(program, ctx);
registerGroupsCommand(program, ctx);
registerRecipesCommand(program, ctx);
registerModelsCommand(program, ctx);
registerChatCommand(program, ctx);
registerBenchCommand(program, ctx);
registerClusterCommand(program, ctx);

// A reader that stops early (`aiplane ... | head`) is not an error of ours.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(EXIT.ok);
    throw error;
  });
}

// Ctrl-C outside the chat prompt (which handles its own): a command that took it ends gracefully
// (and exits 130 itself); otherwise end the live line and exit as shells expect.
process.on('SIGINT', () => {
  if (ctx.interrupt()) return;
  if (process.stdout.isTTY) process.stdout.write('\n');
  process.exit(EXIT.interrupted);
});

void runProgram(program, io, process.argv).then((code) => {
  process.exitCode = code;
});
