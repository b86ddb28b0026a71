import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensurePrivateDir } from '@aiplane/config';
import { prepareSocketPath } from './socket-path.rules';

describe('a socket path to listen on', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'socket-path-'));
  });

  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('replaces a stale socket, refuses a live one and any other file', async () => {
    const dir = ensurePrivateDir(path.join(root, 'run'));
    const socketPath = path.join(dir, 'proxy.sock');
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    await expect(prepareSocketPath(socketPath)).rejects.toThrow(/in use by another running process/);
    await new Promise((resolve) => server.close(resolve));
    // A socket file nobody listens on any more (a killed process's) is removed.
    const stale = http.createServer();
    await new Promise<void>((resolve) => stale.listen(socketPath, resolve));
    const handle = (stale as unknown as { _handle: { close(): void } | null })._handle;
    handle?.close();
    await expect(prepareSocketPath(socketPath)).resolves.toBeUndefined();
    writeFileSync(socketPath, 'planted');
    await expect(prepareSocketPath(socketPath)).rejects.toThrow(/is not a socket/);
  });
});
