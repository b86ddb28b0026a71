import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  blobKeyType,
  checkHostKey,
  entryMatchesHost,
  fingerprint,
  knownHostName,
  parseKnownHosts,
  type KnownHostEntry,
} from './known-hosts';

/** An ssh-ed25519 public key blob, as a server presents it and known_hosts stores it. */
function ed25519Blob(): Buffer {
  const der = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
  const raw = der.subarray(der.length - 32);
  const field = (data: Buffer): Buffer => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    return Buffer.concat([length, data]);
  };
  return Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]);
}

function hashed(name: string): string {
  const salt = randomBytes(20);
  const hash = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
}

const line = (hosts: string, key: Buffer, marker = ''): string =>
  `${marker ? `${marker} ` : ''}${hosts} ssh-ed25519 ${key.toString('base64')} comment`;

const serverKey = ed25519Blob();
const otherKey = ed25519Blob();

describe('parseKnownHosts', () => {
  it('reads plain, bracketed, hashed and marked lines, skipping comments and junk', () => {
    const entries = parseKnownHosts(
      [
        '# comment',
        '',
        line('login.lxp.lu,10.0.0.1', serverKey),
        line('[127.0.0.1]:2222', serverKey),
        line(hashed('[login.lxp.lu]:8822'), serverKey),
        line('*.lxp.lu', otherKey, '@revoked'),
        line('*.lxp.lu', otherKey, '@cert-authority'),
        line('bad', otherKey, '@unknown-marker'),
        'onlyhost',
        'host ssh-ed25519 !!!notbase64',
        `host ssh-rsa ${serverKey.toString('base64')}`,
      ].join('\n'),
    );
    expect(entries.map((entry) => [entry.marker, entry.patterns, entry.line])).toEqual([
      [undefined, ['login.lxp.lu', '10.0.0.1'], 3],
      [undefined, ['[127.0.0.1]:2222'], 4],
      [undefined, [expect.stringMatching(/^\|1\|/)], 5],
      ['revoked', ['*.lxp.lu'], 6],
      ['cert-authority', ['*.lxp.lu'], 7],
    ]);
    expect(entries[0]?.key.equals(serverKey)).toBe(true);
    expect(entries[0]?.keyType).toBe('ssh-ed25519');
  });

  it('reads the known_hosts that ssh-keyscan writes for a non-standard port', () => {
    const text =
      '[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM2BhSBTOQJy8tJr0NBsPEGh9gV9VmXBH8tRVRCQZvnl\n';
    const [entry] = parseKnownHosts(text);
    expect(entry && blobKeyType(entry.key)).toBe('ssh-ed25519');
    expect(entry && entryMatchesHost(entry, knownHostName('127.0.0.1', 2222))).toBe(true);
  });
});

describe('host matching', () => {
  const entry = (patterns: string[]): KnownHostEntry => ({
    marker: undefined,
    patterns,
    keyType: 'ssh-ed25519',
    key: serverKey,
    line: 1,
  });

  it('uses the bare name on port 22 and [host]:port elsewhere', () => {
    expect(knownHostName('Login.LXP.lu', 22)).toBe('login.lxp.lu');
    expect(knownHostName('login.lxp.lu', 8822)).toBe('[login.lxp.lu]:8822');
    expect(entryMatchesHost(entry(['login.lxp.lu']), knownHostName('login.lxp.lu', 8822))).toBe(false);
    expect(entryMatchesHost(entry(['[login.lxp.lu]:8822']), knownHostName('login.lxp.lu', 8822))).toBe(true);
  });

  it('supports wildcards and negation', () => {
    expect(entryMatchesHost(entry(['*.lxp.lu']), 'login.lxp.lu')).toBe(true);
    expect(entryMatchesHost(entry(['login?.lxp.lu']), 'login1.lxp.lu')).toBe(true);
    expect(entryMatchesHost(entry(['*.lxp.lu', '!bad.lxp.lu']), 'bad.lxp.lu')).toBe(false);
    expect(entryMatchesHost(entry(['*.lxp.lu']), 'lxp.lu.evil.com')).toBe(false);
    expect(entryMatchesHost(entry(['login.lxp.lu']), 'loginxlxp.lu')).toBe(false);
  });

  it('matches hashed entries for exactly the hashed name', () => {
    expect(entryMatchesHost(entry([hashed('[127.0.0.1]:2222')]), '[127.0.0.1]:2222')).toBe(true);
    expect(entryMatchesHost(entry([hashed('[127.0.0.1]:2222')]), '[127.0.0.1]:2223')).toBe(false);
    expect(entryMatchesHost(entry(['|2|bad|hash']), '127.0.0.1')).toBe(false);
  });
});

describe('checkHostKey', () => {
  it('accepts the key on file for the host', () => {
    const entries = parseKnownHosts(line('[127.0.0.1]:2222', serverKey));
    expect(checkHostKey(entries, '127.0.0.1', 2222, serverKey)).toEqual({ ok: true });
  });

  it('accepts when any of several keys for the host matches', () => {
    const entries = parseKnownHosts([line('h', otherKey), line(hashed('h'), serverKey)].join('\n'));
    expect(checkHostKey(entries, 'h', 22, serverKey)).toEqual({ ok: true });
  });

  it('refuses a different key, showing both fingerprints', () => {
    const entries = parseKnownHosts(line('[127.0.0.1]:2222', otherKey));
    const check = checkHostKey(entries, '127.0.0.1', 2222, serverKey, '/home/me/.ssh/known_hosts');
    expect(check.ok).toBe(false);
    const reason = check.ok ? '' : check.reason;
    expect(reason).toContain('HOST KEY MISMATCH for [127.0.0.1]:2222');
    expect(reason).toContain(fingerprint(serverKey));
    expect(reason).toContain(fingerprint(otherKey));
    expect(reason).toContain('/home/me/.ssh/known_hosts');
  });

  it('refuses an unknown host and says how to add it', () => {
    const entries = parseKnownHosts(line('elsewhere', serverKey));
    const check = checkHostKey(entries, 'login.lxp.lu', 8822, serverKey, 'kh');
    expect(check).toEqual({
      ok: false,
      reason: expect.stringContaining('ssh-keyscan -p 8822 login.lxp.lu >> kh') as unknown,
    });
  });

  it('refuses a revoked key even when a line also trusts it', () => {
    const entries = parseKnownHosts([line('h', serverKey), line('*', serverKey, '@revoked')].join('\n'));
    const check = checkHostKey(entries, 'h', 22, serverKey);
    expect(check.ok ? '' : check.reason).toMatch(/@revoked/);
  });

  it('does not let a @cert-authority line vouch for a plain key', () => {
    const entries = parseKnownHosts(line('h', serverKey, '@cert-authority'));
    expect(checkHostKey(entries, 'h', 22, serverKey).ok).toBe(false);
  });
});

describe('fingerprint', () => {
  it('has the ssh-keygen -l form', () => {
    expect(fingerprint(serverKey)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});
