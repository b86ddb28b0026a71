import { readFile, stat } from 'node:fs/promises';
import { utils, type ParsedKey } from 'ssh2';
import type { Prompter } from './terminal.prompter';
import type { PassphraseSource } from './ssh.types';

export class SshKeyError extends Error {
  readonly code = 'SSH_KEY_UNUSABLE';
}

const TRIES_AT_TERMINAL = 3;

/**
 * Private keys as ssh2 takes them, each decrypted once: a passphrase typed at the terminal is kept
 * in memory for the gateway's life, so a reconnect at 3 a.m. needs nobody. Files are read on each
 * load, so a rotated key needs no restart. Passphrases are never logged nor put in a message.
 */
export class SshKeyCache {
  private readonly passphrases = new Map<string, string>();

  constructor(
    private readonly source: PassphraseSource,
    private readonly prompter: Prompter | undefined,
    /** Told while the terminal waits on a person, so the connection attempt's deadline can pause. */
    private readonly onPerson: (asking: boolean) => void = () => undefined,
  ) {}

  /** The key at `path`; undefined when it does not exist and `required` is false (an IdentityFile). */
  async load(path: string, required: boolean): Promise<ParsedKey | undefined> {
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch (error: unknown) {
      if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new SshKeyError(
        `cannot read ${required ? 'SSH_KEY_PATH ' : 'IdentityFile '}${path}: ${messageOf(error)}`,
      );
    }
    const plain = firstKey(utils.parseKey(data));
    if (!(plain instanceof Error)) return plain;
    if (!/passphrase|encrypted/i.test(plain.message)) {
      throw new SshKeyError(`cannot use the SSH key ${path}: ${plain.message}`);
    }
    const known = this.passphrases.get(path);
    if (known !== undefined) {
      const parsed = firstKey(utils.parseKey(data, known));
      if (!(parsed instanceof Error)) return parsed;
      this.passphrases.delete(path);
    }
    const given = await this.givenPassphrase();
    if (given !== undefined) {
      const parsed = firstKey(utils.parseKey(data, given.passphrase));
      if (parsed instanceof Error)
        throw new SshKeyError(`the passphrase in ${given.from} does not decrypt ${path}`);
      this.passphrases.set(path, given.passphrase);
      return parsed;
    }
    if (!this.prompter?.interactive) {
      throw new SshKeyError(
        `the SSH key ${path} is protected by a passphrase and the gateway has no terminal to ask for it: ` +
          'load it into an ssh-agent (ssh-add, with SSH_AUTH_SOCK set for the gateway), put the passphrase ' +
          'in a 0600 file named by SSH_KEY_PASSPHRASE_FILE, or start the gateway in a terminal',
      );
    }
    for (let attempt = 1; attempt <= TRIES_AT_TERMINAL; attempt += 1) {
      const typed = await this.askPerson(`Enter passphrase for key '${path}': `);
      const parsed = firstKey(utils.parseKey(data, typed));
      if (!(parsed instanceof Error)) {
        this.passphrases.set(path, typed);
        return parsed;
      }
      this.prompter.tell('Bad passphrase, try again.');
    }
    throw new SshKeyError(`${String(TRIES_AT_TERMINAL)} wrong passphrases typed for ${path}`);
  }

  /** Answers from the person at the terminal, pausing the attempt's deadline while they type. */
  async askPerson(question: string, echo = false): Promise<string> {
    if (!this.prompter) throw new SshKeyError('no terminal to ask');
    this.onPerson(true);
    try {
      return await this.prompter.ask(question, echo);
    } finally {
      this.onPerson(false);
    }
  }

  private async givenPassphrase(): Promise<{ passphrase: string; from: string } | undefined> {
    const { file, value } = this.source;
    if (file !== undefined) {
      const info = await stat(file).catch((error: unknown) => {
        throw new SshKeyError(`cannot read SSH_KEY_PASSPHRASE_FILE ${file}: ${messageOf(error)}`);
      });
      // As ssh does for keys: a secret others can read is refused rather than used.
      if ((info.mode & 0o077) !== 0) {
        throw new SshKeyError(
          `SSH_KEY_PASSPHRASE_FILE ${file} is readable by others (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it`,
        );
      }
      const text = await readFile(file, 'utf8');
      return { passphrase: text.split(/\r?\n/)[0] ?? '', from: `SSH_KEY_PASSPHRASE_FILE ${file}` };
    }
    if (value !== undefined && value !== '') return { passphrase: value, from: 'SSH_KEY_PASSPHRASE' };
    return undefined;
  }
}

function firstKey(parsed: ParsedKey | ParsedKey[] | Error): ParsedKey | Error {
  if (parsed instanceof Error) return parsed;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  return key ?? new Error('no key in the file');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
