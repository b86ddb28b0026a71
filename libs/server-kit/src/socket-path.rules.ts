import { lstatSync, unlinkSync, type Stats } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ensurePrivateDir, RuntimeDirError, socketPathIn } from '@aiplane/config';

function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

/**
 * Makes `socketPath` ready to listen on: its directory private, its length within sun_path, and a
 * socket a previous run left behind removed. A live socket (another instance) or any other kind of
 * file is refused rather than replaced.
 */
export async function prepareSocketPath(socketPath: string): Promise<void> {
  ensurePrivateDir(path.dirname(socketPath));
  socketPathIn(path.dirname(socketPath), path.basename(socketPath));
  let stats: Stats;
  try {
    stats = lstatSync(socketPath);
  } catch {
    return;
  }
  if (!stats.isSocket()) {
    throw new RuntimeDirError(`${socketPath} exists and is not a socket: refusing to replace it`);
  }
  if (await answers(socketPath)) {
    throw new RuntimeDirError(`${socketPath} is in use by another running process`);
  }
  unlinkSync(socketPath);
}
