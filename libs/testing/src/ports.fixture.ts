import { readFileSync } from 'node:fs';
import * as net from 'node:net';

const LOWEST = 20_000;

/** Where the kernel starts handing out ports to outgoing connections. */
function ephemeralStart(): number {
  try {
    const start = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
    return Number.isInteger(start) && start > LOWEST ? start : 32_768;
  } catch {
    return 32_768;
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, '0.0.0.0', () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

/**
 * A base port for a job a test starts: `span` ports from it that nothing holds, below the kernel's
 * ephemeral range. A job chooses its port and binds it a moment later; in the ephemeral range the
 * port may meanwhile become the local end of any outgoing connection, which `ss -l` does not show
 * and which makes the bind fail. Picked at random, so suites running side by side rarely meet.
 */
export async function freeJobPort(span = 8): Promise<number> {
  const highest = ephemeralStart() - span;
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const base = LOWEST + Math.floor(Math.random() * (highest - LOWEST));
    let free = true;
    for (let port = base; free && port < base + span; port += 1) free = await bindable(port);
    if (free) return base;
  }
  throw new Error(`no ${String(span)} free ports in a row between ${String(LOWEST)} and ${String(highest)}`);
}
