import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { nodePinFileSchema, type NodePin, type NodePinFile } from './node-pin.schema';

export class NodePinError extends Error {
  readonly code = 'NODE_PIN_INVALID';
}

/**
 * The pin file in the gateway's state dir. It is private (0600 in a 0700 dir): it says which node the
 * user's control plane runs on. A file that does not parse is an error, never an empty pin, so a
 * damaged file cannot quietly send the gateway to another node.
 */
export class NodePinStorage {
  constructor(readonly path: string) {}

  async read(target: string): Promise<NodePin | undefined> {
    return (await this.load()).pins[target];
  }

  async write(target: string, pin: NodePin): Promise<void> {
    const file = await this.load();
    file.pins[target] = pin;
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const temporary = `${this.path}.${String(process.pid)}.tmp`;
    await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, this.path);
  }

  private async load(): Promise<NodePinFile> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error: unknown) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { pins: {} };
      throw new NodePinError(`cannot read the node pins in ${this.path}: ${(error as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const result = nodePinFileSchema.safeParse(parsed);
    if (!result.success) {
      throw new NodePinError(`${this.path} is not a node pin file; fix or delete it to pin anew`);
    }
    return result.data;
  }
}
