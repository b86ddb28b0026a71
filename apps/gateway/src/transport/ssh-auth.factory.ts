import type {
  AnyAuthMethod,
  AuthenticationType,
  AuthHandlerMiddleware,
  KeyboardInteractiveCallback,
  Prompt,
} from 'ssh2';
import type { SshKeyCache } from './ssh-keys.cache';
import type { Prompter } from './terminal.prompter';
import type { SshEndpoint } from './ssh.types';

type Candidate =
  { kind: 'agent'; socket: string } | { kind: 'key'; path: string } | { kind: 'keyboard-interactive' };

export interface SshAuth {
  handler: AuthHandlerMiddleware;
  /** Why logging in failed, in words: what was tried, what the server takes, problems met on the way. */
  explain(): string;
  /** A problem that does not end the attempt (an agent that cannot be reached), for explain(). */
  note(problem: string): void;
}

/**
 * The order OpenSSH follows: the agent's keys, then key files (decrypted only when reached, so a key
 * the agent holds never asks for its passphrase), then keyboard-interactive (one-time codes), whose
 * prompts go to the person at the terminal. After a partial success (publickey, then a code) only
 * the methods the server still lists are tried.
 */
export function createSshAuth(
  hop: SshEndpoint,
  keys: SshKeyCache,
  prompter: Prompter | undefined,
  /** Ends the attempt at once with this reason: a prompt nobody can answer must not wait for a timeout. */
  abort: (reason: string) => void,
): SshAuth {
  const candidates: Candidate[] = [
    ...(hop.agentSocket === undefined ? [] : [{ kind: 'agent' as const, socket: hop.agentSocket }]),
    ...hop.keyPaths.map((path) => ({ kind: 'key' as const, path })),
    { kind: 'keyboard-interactive' },
  ];
  const tried: string[] = [];
  const problems: string[] = [];
  let serverTakes: AuthenticationType[] | undefined;
  const { username } = hop;

  const prompt = (
    name: string,
    instructions: string,
    _lang: string,
    prompts: Prompt[],
    finish: KeyboardInteractiveCallback,
  ): void => {
    // OpenSSH's PAM sends info requests without prompts (just text) along the way.
    if (prompts.length === 0) {
      if (prompter?.interactive) prompter.tell([name, instructions].filter(Boolean).join('\n'));
      finish([]);
      return;
    }
    const asked = prompts.map((entry) => JSON.stringify(entry.prompt.trim())).join(', ');
    if (!prompter?.interactive) {
      abort(
        `${hop.username}@${hop.host}:${String(hop.port)} asks for keyboard-interactive answers (${asked}), ` +
          'but the gateway has no terminal to ask: start it in a terminal and type them there',
      );
      return;
    }
    prompter.tell(
      [`${hop.username}@${hop.host}: ${name}`.replace(/: $/, ''), instructions].filter(Boolean).join('\n'),
    );
    void (async () => {
      const answers: string[] = [];
      for (const entry of prompts) answers.push(await keys.askPerson(entry.prompt, entry.echo === true));
      return answers;
    })().then(finish, (error: unknown) => {
      abort(
        `keyboard-interactive login to ${hop.host} was not answered: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
  };

  const pick = async (allowed: AuthenticationType[] | null): Promise<AnyAuthMethod | false> => {
    for (let candidate = candidates.shift(); candidate; candidate = candidates.shift()) {
      const method = candidate.kind === 'keyboard-interactive' ? 'keyboard-interactive' : 'publickey';
      if (allowed && !allowed.includes(method)) continue;
      switch (candidate.kind) {
        case 'agent':
          tried.push(`the ssh-agent at ${candidate.socket}`);
          return { type: 'agent', username, agent: candidate.socket };
        case 'key':
          try {
            const key = await keys.load(candidate.path, hop.keyPathsRequired);
            if (!key) continue;
            tried.push(`the key ${candidate.path}`);
            return { type: 'publickey', username, key };
          } catch (error: unknown) {
            problems.push(error instanceof Error ? error.message : String(error));
            continue;
          }
        case 'keyboard-interactive':
          // Only when the server lists it; 'none' first makes a server that takes nothing else say so.
          if (!allowed) {
            candidates.unshift(candidate);
            return { type: 'none', username };
          }
          tried.push('keyboard-interactive');
          return { type: 'keyboard-interactive', username, prompt };
      }
    }
    return false;
  };

  return {
    handler: (authsLeft, _partialSuccess, next) => {
      // ssh2 passes null before the first attempt, whatever its typing says.
      const allowed = (authsLeft as AuthenticationType[] | null) ?? null;
      if (allowed) serverTakes = allowed;
      pick(allowed).then(
        (method) => {
          // ssh2 reads false as "no more methods"; its typing omits it.
          next(method === false ? (false as never) : method);
        },
        () => {
          next(false as never);
        },
      );
    },
    note: (problem) => {
      problems.push(problem);
    },
    explain: () =>
      [
        `could not log in as ${username} to ${hop.host}:${String(hop.port)}`,
        `tried ${tried.length === 0 ? 'nothing' : tried.join(', ')}`,
        ...(serverTakes ? [`the server takes ${serverTakes.join(', ')}`] : []),
        ...problems,
      ].join('; '),
  };
}
