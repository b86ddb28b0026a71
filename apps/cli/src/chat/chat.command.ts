import { routePath, type VllmModelsResponse } from '@aiplane/contracts';
import { Argument, Option, type Command } from 'commander';
import { createInterface } from 'node:readline';
import { integerParser, numberParser, parseServiceId } from '../common/arguments.parse';
import type { CliContext } from '../common/cli.context';
import { CliError, EXIT, usageError } from '../common/cli.errors';
import { ChatSession, type ChatTarget } from './chat.session';

interface ChatOptions {
  model?: string;
  message?: string;
  system?: string;
  maxTokens?: number;
  temperature?: number;
}

/** A service's own OpenAI route, with the model it serves (or the one asked for); the whole gateway's for a model. */
async function resolveTarget(
  ctx: CliContext,
  id: string | undefined,
  model: string | undefined,
): Promise<ChatTarget> {
  const base = ctx.url();
  if (id === undefined) {
    if (model === undefined) {
      throw usageError('say whom to chat with: `aiplane chat <service-id>` or `aiplane chat --model <name>`');
    }
    return { baseURL: `${base}/v1`, model, label: `model ${model}` };
  }
  // Asking the service for its models first gives the gateway's own message for an unknown or not-yet-running id.
  const served = await ctx
    .gateway()
    .json<VllmModelsResponse>('GET', routePath('vllm.models', 'gateway', { id }), {
      what: `service ${id}`,
    });
  const chosen = model ?? served.models[0];
  if (chosen === undefined) throw new CliError(`service ${id} serves no model yet`, EXIT.serverError);
  return { baseURL: `${base}/api/v1/vllm/${id}/v1`, model: chosen, label: `service ${id}` };
}

export function registerChatCommand(program: Command, ctx: CliContext): void {
  program
    .command('chat')
    .description('chat with a service or a model: an interactive, streaming REPL, or one answer with -m')
    .addArgument(new Argument('[service-id]', 'the service (or group) to talk to').argParser(parseServiceId))
    .option(
      '--model <name>',
      'the model: any running service serving it answers (or, with an id, which of its models)',
    )
    .option('-m, --message <text>', 'send one message, print the streamed answer and exit (for scripts)')
    .option('--system <text>', 'a system prompt for the conversation')
    .addOption(
      new Option('--max-tokens <n>', 'longest answer, in tokens').argParser(integerParser(1, 1_000_000)),
    )
    .addOption(new Option('--temperature <t>', 'sampling temperature').argParser(numberParser(0, 2)))
    .addHelpText(
      'after',
      '\nIn the REPL: /reset forgets the conversation, /exit or Ctrl-D leaves, Ctrl-C stops an answer.',
    )
    .action(async (id: string | undefined, options: ChatOptions) => {
      if (ctx.json() && options.message === undefined) {
        throw usageError('--json needs -m <message>: the interactive chat prints text');
      }
      if (options.message?.trim() === '') throw usageError('-m needs a message that is not empty');
      const target = await resolveTarget(ctx, id, options.model);
      const session = new ChatSession(
        target,
        {
          ...(options.system === undefined ? {} : { system: options.system }),
          ...(options.maxTokens === undefined ? {} : { maxTokens: options.maxTokens }),
          ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
        },
        ctx.url(),
      );
      if (options.message !== undefined) {
        const write = ctx.json() ? () => undefined : (delta: string) => ctx.out.write(delta);
        const reply = await session.send(options.message, write);
        if (ctx.json()) {
          ctx.printJson({
            model: target.model,
            reply: reply.text,
            finish_reason: reply.finishReason,
            usage: reply.usage,
          });
        } else ctx.out.write('\n');
        return;
      }
      await runRepl(ctx, session);
    });
}

async function runRepl(ctx: CliContext, session: ChatSession): Promise<void> {
  const colors = ctx.colors();
  const terminal = ctx.input.isTTY === true && ctx.out.isTTY === true;
  const rl = createInterface({ input: ctx.input, output: ctx.out, terminal, prompt: colors.cyan('you> ') });
  let answering: AbortController | undefined;
  // At a terminal readline turns Ctrl-C into this event: it stops an answer, or leaves at the prompt.
  rl.on('SIGINT', () => {
    if (answering !== undefined) answering.abort();
    else rl.close();
  });
  ctx.print(
    colors.dim(
      `Chatting with ${session.target.label} (${session.target.model}). ` +
        '/reset forgets the conversation, /exit or Ctrl-D leaves, Ctrl-C stops an answer.',
    ),
  );
  rl.prompt();
  for await (const line of rl) {
    const text = line.trim();
    if (text === '/exit' || text === '/quit') break;
    if (text === '/reset') {
      session.reset();
      ctx.print(colors.dim('(conversation forgotten)'));
    } else if (text.startsWith('/')) {
      ctx.print(colors.yellow(`unknown command ${text}: /reset forgets the conversation, /exit leaves`));
    } else if (text !== '') {
      answering = new AbortController();
      ctx.out.write(colors.green('ai> '));
      try {
        await session.send(text, (delta) => ctx.out.write(delta), answering.signal);
        ctx.out.write('\n');
      } catch (error) {
        ctx.out.write('\n');
        if (answering.signal.aborted) ctx.print(colors.dim('(stopped; this turn is not kept)'));
        else ctx.print(colors.red(error instanceof Error ? error.message : String(error)));
      } finally {
        answering = undefined;
      }
    }
    rl.prompt();
  }
  rl.close();
  ctx.out.write('\n');
}
