import { createLogger } from './logging';
import { logFields, prettyLogLine } from './log.pretty';

function written(
  format: 'json' | 'pretty',
  level = 'info',
  log: (logger: ReturnType<typeof createLogger>) => void,
) {
  const lines: string[] = [];
  const logger = createLogger('gateway', level, { write: (line: string) => lines.push(line) }, format);
  log(logger);
  return lines;
}

describe('LOG_FORMAT', () => {
  it('json (the default) writes one JSON object a line, for the supervisor and for production', () => {
    const [line] = written('json', 'info', (logger) => {
      logger.info({ port: 8001 }, 'listening');
    });
    expect(JSON.parse(line ?? '')).toMatchObject({
      level: 30,
      service: 'gateway',
      msg: 'listening',
      port: 8001,
    });
  });

  it('pretty writes `HH:MM:ss app LEVEL message key=value` on one line', () => {
    const [line] = written('pretty', 'info', (logger) => {
      logger.warn({ host: '127.0.0.1', port: 8001, reason: 'the tunnel is down' }, 'ssh tunnel lost');
    });
    expect(line).toMatch(
      /^\d\d:\d\d:\d\d gateway {6,}WARN ssh tunnel lost host=127\.0\.0\.1 port=8001 reason="the tunnel is down"\n$/,
    );
  });

  it.each(['json', 'pretty'] as const)(
    "%s leaves out Nest's start-up inventory (routes mapped, modules loaded) at info, keeps it at debug",
    (format) => {
      const inventory = (logger: ReturnType<typeof createLogger>) => {
        logger.info({ context: 'RouterExplorer' }, 'Mapped {/api/v1/services, GET} route');
        logger.info({ context: 'RoutesResolver' }, 'ServicesController {/api/v1}:');
        logger.info({ context: 'InstanceLoader' }, 'AppModule dependencies initialized');
        logger.info({ context: 'NestApplication' }, 'Nest application successfully started');
      };
      const info = written(format, 'info', inventory);
      expect(info).toHaveLength(1);
      expect(info[0]).toContain('Nest application successfully started');
      expect(written(format, 'debug', inventory)).toHaveLength(4);
    },
  );

  it('keeps secrets redacted in the pretty form too', () => {
    const [line] = written('pretty', 'info', (logger) => {
      logger.info({ record: { id: '7', api_key: 'k-123' } }, 'x');
    });
    expect(line).not.toContain('k-123');
    expect(line).toContain('record={"id":"7","api_key":"***"}');
  });
});

describe('prettyLogLine', () => {
  it('passes on a line that is not a JSON object as it is', () => {
    expect(prettyLogLine('Error: boom\n    at x', false)).toBe('Error: boom\n    at x\n');
    expect(prettyLogLine('{not json', false)).toBe('{not json\n');
  });

  it('colours the level and dims the fields when asked', () => {
    const line = prettyLogLine(
      JSON.stringify({ level: 50, time: 0, service: 'proxy', msg: 'boom', a: 1 }),
      true,
    );
    expect(line).toContain('\u001b[31mERROR\u001b[39m');
    expect(line).toContain('\u001b[90ma=1\u001b[39m');
  });

  it("puts a request's method, path, status and time in the message", () => {
    const line = prettyLogLine(
      JSON.stringify({
        level: 30,
        time: 0,
        service: 'orchestrator',
        msg: 'request completed',
        reqId: 'r-1',
        req: { method: 'GET', url: '/api/services' },
        res: { statusCode: 200 },
        responseTime: 3,
        request_id: 'r-1',
      }),
      false,
    );
    expect(line).toMatch(
      /^\d\d:\d\d:\d\d orchestrator +INFO GET \/api\/services → 200 3ms request_id=r-1\n$/,
    );
  });

  it("shows an error's message, not its stack, among the fields", () => {
    expect(logFields({ err: { type: 'Error', message: 'no route', stack: 'Error: no route\n at x' } })).toBe(
      'err="no route"',
    );
  });
});
