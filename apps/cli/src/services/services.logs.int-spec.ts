import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { createCliContext, type CliContext } from '../common/cli.context';
import { createProgram } from '../common/cli.program';
import { followLogs } from './services.logs';

// `logs -f` over real HTTP against a stand-in gateway: the contract's chunked stream, and the polling
// a gateway that answers the JSON snapshot gets.

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

async function serve(handler: Handler): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    handler(req, res, new URL(req.url ?? '/', 'http://gateway'));
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`, server };
}

function context(url: string): { ctx: CliContext; output: () => string; notes: () => string } {
  const out = new PassThrough();
  const err = new PassThrough();
  let written = '';
  let noted = '';
  out.on('data', (chunk: Buffer) => (written += chunk.toString()));
  err.on('data', (chunk: Buffer) => (noted += chunk.toString()));
  const io = { out, err, input: new PassThrough() };
  const { program } = createProgram(io);
  program.parse(['node', 'aiplane', '--url', url]);
  return { ctx: createCliContext(program, io), output: () => written, notes: () => noted };
}

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

describe('following logs', () => {
  it('writes the chunks of ?follow=true as they arrive, and ends with the stream', async () => {
    let release: () => void = () => undefined;
    const asked: string[] = [];
    const { url, server } = await serve((_req, res, where) => {
      asked.push(`${where.pathname}${where.search}`);
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.write('=== STDOUT ===\nline 1\n');
      release = () => {
        res.end('line 2\n');
      };
    });
    servers.push(server);
    const { ctx, output, notes } = context(url);

    const following = followLogs(ctx, '7', 5);
    // The first chunk is out while the server still holds the second.
    for (let i = 0; i < 100 && !output().includes('line 1'); i += 1)
      await new Promise((r) => setTimeout(r, 20));
    expect(output()).toBe('=== STDOUT ===\nline 1\n');
    release();
    await following;
    expect(output()).toBe('=== STDOUT ===\nline 1\nline 2\n');
    expect(notes()).toBe('');
    expect(asked).toEqual(['/api/v1/services/7/logs?lines=5&follow=true']);
  });

  it('polls a gateway that answers the snapshot, prints each new line once, and stops when the service ends', async () => {
    const stdout = ['boot'];
    let polls = 0;
    const { url, server } = await serve((_req, res, where) => {
      res.setHeader('content-type', 'application/json');
      if (where.pathname.endsWith('/status')) {
        polls += 1;
        // Each poll the job writes a line; on the third it has ended.
        stdout.push(`tick ${String(polls)}`);
        res.end(JSON.stringify({ id: '7', status: polls >= 3 ? 'completed' : 'running' }));
        return;
      }
      const lines = Number(where.searchParams.get('lines'));
      res.end(
        JSON.stringify({ logs: `=== STDOUT ===\n${stdout.slice(-lines).join('\n')}\n=== STDERR ===\n` }),
      );
    });
    servers.push(server);
    const { ctx, output, notes } = context(url);

    await followLogs(ctx, '7', 1);
    expect(notes()).toMatch(/does not stream logs; showing new lines every 1 s/);
    expect(output()).toBe(['=== STDOUT ===', 'boot', 'tick 1', 'tick 2', 'tick 3', ''].join('\n'));
  }, 15_000);
});
