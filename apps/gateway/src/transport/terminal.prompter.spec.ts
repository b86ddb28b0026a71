import { PassThrough } from 'node:stream';
import { PromptCancelledError, TerminalPrompter, type TerminalInput } from './terminal.prompter';

/** A stand-in TTY: what is typed goes in, raw mode is recorded. */
function terminal(isTTY = true): {
  input: TerminalInput & PassThrough;
  output: PassThrough;
  shown: () => string;
  raw: boolean[];
} {
  const raw: boolean[] = [];
  const input = Object.assign(new PassThrough(), {
    isTTY,
    setRawMode: (mode: boolean) => {
      raw.push(mode);
    },
  });
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { input, output, shown: () => text, raw };
}

describe('TerminalPrompter', () => {
  it('reads an answer without echo in raw mode, honouring backspace', async () => {
    const tty = terminal();
    const prompter = new TerminalPrompter(tty.input, tty.output);
    const answer = prompter.ask('Verification code: ', false);
    tty.input.write('12x\u007f3');
    tty.input.write('4\r');
    await expect(answer).resolves.toBe('1234');
    expect(tty.shown()).toBe('Verification code: \n');
    expect(tty.raw).toEqual([true, false]);
  });

  it('echoes when the server says so, and asks one question at a time', async () => {
    const tty = terminal();
    const prompter = new TerminalPrompter(tty.input, tty.output);
    const first = prompter.ask('User: ', true);
    const second = prompter.ask('Code: ', false);
    tty.input.write('me\n');
    await expect(first).resolves.toBe('me');
    tty.input.write('99\n');
    await expect(second).resolves.toBe('99');
    expect(tty.shown()).toBe('User: me\nCode: \n');
  });

  it('stops on Ctrl-C, and refuses to ask without a terminal', async () => {
    const tty = terminal();
    const prompter = new TerminalPrompter(tty.input, tty.output);
    const answer = prompter.ask('Code: ', false);
    tty.input.write('\u0003');
    await expect(answer).rejects.toBeInstanceOf(PromptCancelledError);
    expect(tty.raw).toEqual([true, false]);
    const none = terminal(false);
    const headless = new TerminalPrompter(none.input, none.output);
    expect(headless.interactive).toBe(false);
    await expect(headless.ask('Code: ', false)).rejects.toThrow('no terminal to ask "Code:"');
  });
});
