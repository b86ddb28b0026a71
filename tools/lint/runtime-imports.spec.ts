import * as path from 'node:path';
import { runtimeImports } from './import-graph';
import { FRAMEWORK_PACKAGES } from './module-boundaries';

const ROOT = path.resolve(__dirname, '..', '..');

/** What an HTTP API's description and validation loads: only the HTTP apps may pay for it. */
const HTTP_API_PACKAGES = ['@nestjs/swagger', 'class-validator', 'class-transformer'];

function isFramework(name: string): boolean {
  return FRAMEWORK_PACKAGES.some((banned) =>
    banned.endsWith('/*') ? name.startsWith(banned.slice(0, -1)) : name === banned,
  );
}

// Parsing every file an app reaches takes a second or two; more on a loaded CI machine.
jest.setTimeout(30_000);

describe('what a process loads at run time', () => {
  it('loading @aiplane/contracts loads no framework', () => {
    const { packages } = runtimeImports('libs/contracts/src/index.ts', ROOT);

    expect([...packages.keys()].filter(isFramework)).toEqual([]);
    expect(HTTP_API_PACKAGES.filter((name) => packages.has(name))).toEqual([]);
  });

  it.each(['apps/slurm-worker/src/main.ts', 'apps/health-prober/src/main.ts'])(
    '%s loads neither Swagger nor the request validators',
    (entry) => {
      const { files, packages } = runtimeImports(entry, ROOT);

      const loaded = HTTP_API_PACKAGES.filter((name) => packages.has(name)).map(
        (name) => `${name} (imported by ${packages.get(name) ?? '?'})`,
      );
      expect(loaded).toEqual([]);
      expect(
        [...files].filter((file) => file.includes(`${path.sep}libs${path.sep}http-api${path.sep}`)),
      ).toEqual([]);
    },
  );

  it('the CLI loads no framework and no code of the servers: it speaks HTTP to the gateway', () => {
    const { files, packages } = runtimeImports('apps/cli/src/main.ts', ROOT);
    expect(['commander', 'openai'].filter((name) => packages.has(name))).toEqual(['commander', 'openai']);

    expect([...packages.keys()].filter(isFramework)).toEqual([]);
    expect(HTTP_API_PACKAGES.filter((name) => packages.has(name))).toEqual([]);
    // Its own code, the shared contracts, the load generator (`bench`) and the config parser
    // (`cluster`'s settings): nothing of a server.
    const allowed = [
      ['apps', 'cli'],
      ['libs', 'contracts'],
      ['libs', 'loadgen'],
      ['libs', 'config'],
    ].map((parts) => path.join(...parts, path.sep));
    const outside = [...files]
      .map((file) => path.relative(ROOT, file))
      .filter((file) => !allowed.some((prefix) => file.startsWith(prefix)));
    expect(outside).toEqual([]);
  });

  it('sees through aliases: the gateway does load Swagger and the validators', () => {
    const { packages } = runtimeImports('apps/gateway/src/main.ts', ROOT);

    expect(HTTP_API_PACKAGES.filter((name) => packages.has(name))).toEqual(HTTP_API_PACKAGES);
  });
});
