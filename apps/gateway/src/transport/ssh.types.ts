/** One SSH server to log in to, with everything resolved: the login node, or a jump host on the way. */
export interface SshEndpoint {
  /** The name the user wrote (SSH_HOST or a ProxyJump entry), for messages. */
  alias: string;
  /** Connected to, and the name known_hosts is checked under. */
  host: string;
  port: number;
  username: string;
  /** Private keys to offer after the agent's, in order. */
  keyPaths: string[];
  /** Whether a missing key file is an error (SSH_KEY_PATH) or skipped (an IdentityFile, as OpenSSH does). */
  keyPathsRequired: boolean;
  /** The ssh-agent socket; undefined: no agent. */
  agentSocket: string | undefined;
}

/** Where a passphrase-protected key's passphrase comes from when nobody is at a terminal. */
export interface PassphraseSource {
  /** SSH_KEY_PASSPHRASE_FILE: read on use, first line. */
  file: string | undefined;
  /** SSH_KEY_PASSPHRASE. */
  value: string | undefined;
}
