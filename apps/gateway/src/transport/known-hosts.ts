import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** One usable line of an OpenSSH known_hosts file. */
export interface KnownHostEntry {
  marker: 'revoked' | 'cert-authority' | undefined;
  /** Host patterns as written: plain, wildcard, negated (`!`), `[host]:port` or hashed (`|1|salt|hash`). */
  patterns: string[];
  keyType: string;
  key: Buffer;
  line: number;
}

export type HostKeyCheck = { ok: true } | { ok: false; reason: string };

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Lines that do not parse are skipped, as OpenSSH does, so one bad line does not lock a user out. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]?.startsWith('@')) {
      const name = fields.shift();
      if (name !== '@revoked' && name !== '@cert-authority') return;
      marker = name === '@revoked' ? 'revoked' : 'cert-authority';
    }
    const [hosts, keyType, keyText] = fields;
    if (hosts === undefined || keyType === undefined || keyText === undefined || !BASE64.test(keyText))
      return;
    const key = Buffer.from(keyText, 'base64');
    if (blobKeyType(key) !== keyType) return;
    entries.push({ marker, patterns: hosts.split(',').filter(Boolean), keyType, key, line: index + 1 });
  });
  return entries;
}

/** The name OpenSSH looks up: the bare host on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  const lower = host.toLowerCase();
  return port === 22 ? lower : `[${lower}]:${port}`;
}

function wildcardMatch(pattern: string, name: string): boolean {
  const source = pattern
    .toLowerCase()
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(name);
}

function hashedMatch(pattern: string, name: string): boolean {
  const [, magic, salt, hash] = pattern.split('|');
  if (magic !== '1' || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** OpenSSH semantics: any matching negated pattern excludes the line, else any positive match includes it. */
export function entryMatchesHost(entry: KnownHostEntry, name: string): boolean {
  let matched = false;
  for (const pattern of entry.patterns) {
    if (pattern.startsWith('|')) {
      if (hashedMatch(pattern, name)) matched = true;
    } else if (pattern.startsWith('!')) {
      if (wildcardMatch(pattern.slice(1), name)) return false;
    } else if (wildcardMatch(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/** `SHA256:<base64>`, the form `ssh-keygen -l` prints, so a user can compare it with what they know. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The key type an SSH public key blob declares in its first field (`ssh-ed25519`, ...). */
export function blobKeyType(key: Buffer): string | undefined {
  if (key.length < 4) return undefined;
  const length = key.readUInt32BE(0);
  return length > 0 && 4 + length <= key.length ? key.subarray(4, 4 + length).toString('latin1') : undefined;
}

/**
 * Decides whether `key` is the host key the user trusts for host:port. Certificates
 * (@cert-authority lines) are not supported: such lines never vouch for a key here.
 */
export function checkHostKey(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
  key: Buffer,
  source = 'known_hosts',
): HostKeyCheck {
  const name = knownHostName(host, port);
  const offered = `${blobKeyType(key) ?? 'unknown key type'} ${fingerprint(key)}`;
  const forHost = entries.filter((entry) => entryMatchesHost(entry, name));
  if (forHost.some((entry) => entry.marker === 'revoked' && entry.key.equals(key))) {
    return { ok: false, reason: `host key of ${name} (${offered}) is marked @revoked in ${source}` };
  }
  const trusted = forHost.filter((entry) => entry.marker === undefined);
  if (trusted.some((entry) => entry.key.equals(key))) return { ok: true };
  if (trusted.length === 0) {
    return {
      ok: false,
      reason:
        `no host key for ${name} in ${source}; the server offered ${offered}. ` +
        `If that is right, add it: ssh-keyscan -p ${port} ${host} >> ${source}`,
    };
  }
  const known = trusted.map((entry) => `${entry.keyType} ${fingerprint(entry.key)} (line ${entry.line})`);
  return {
    ok: false,
    reason:
      `HOST KEY MISMATCH for ${name}: the server offered ${offered}, but ${source} has ${known.join(', ')}. ` +
      'Refusing to connect: either the host was reinstalled or someone is intercepting the connection',
  };
}
