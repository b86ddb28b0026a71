/** The person who started the gateway, asked for what SSH needs: a key's passphrase, a one-time code. */
export interface Prompter {
  /** False when nobody is at a terminal (a service, CI): SSH must then fail and say what to set. */
  readonly interactive: boolean;
  /** One answer; typed without echo unless `echo` is true. */
  ask(question: string, echo: boolean): Promise<string>;
  /** Text the server sends along (a banner's name, instructions). */
  tell(text: string): void;
}

/** What TerminalPrompter needs of stdin: a TTY stream (tests hand in a stand-in). */
export interface TerminalInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export class PromptCancelledError extends Error {
  readonly code = 'PROMPT_CANCELLED';
}

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACES = new Set(['\u007f', '\b']);

/**
 * Asks at the terminal the gateway runs in. Questions and everything typed go to stderr, never to the
 * log; answers without echo are read in raw mode so they never show on screen. One question at a time.
 */
export class TerminalPrompter implements Prompter {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly input: TerminalInput,
    private readonly output: NodeJS.WritableStream,
  ) {}

  get interactive(): boolean {
    return this.input.isTTY === true && typeof this.input.setRawMode === 'function';
  }

  tell(text: string): void {
    if (text.trim() !== '') this.output.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  ask(question: string, echo: boolean): Promise<string> {
    const answer = this.queue.then(() => this.read(question, echo));
    this.queue = answer.catch(() => undefined);
    return answer;
  }

  private read(question: string, echo: boolean): Promise<string> {
    if (!this.interactive) {
      return Promise.reject(
        new PromptCancelledError(`no terminal to ask ${JSON.stringify(question.trim())}`),
      );
    }
    const { input, output } = this;
    return new Promise<string>((resolve, reject) => {
      const answer: string[] = [];
      output.write(question);
      input.setRawMode?.(true);
      input.resume();
      const finish = (error: Error | undefined): void => {
        input.removeListener('data', onData);
        input.setRawMode?.(false);
        input.pause();
        output.write('\n');
        if (error) reject(error);
        else resolve(answer.join(''));
      };
      const onData = (chunk: Buffer | string): void => {
        for (const char of chunk.toString()) {
          if (char === '\r' || char === '\n') {
            finish(undefined);
            return;
          }
          if (char === CTRL_C || char === CTRL_D) {
            finish(
              new PromptCancelledError(`${JSON.stringify(question.trim())} was cancelled at the terminal`),
            );
            return;
          }
          if (BACKSPACES.has(char)) {
            if (answer.length > 0 && echo) output.write('\b \b');
            answer.pop();
          } else {
            answer.push(char);
            if (echo) output.write(char);
          }
        }
      };
      input.on('data', onData);
    });
  }
}
