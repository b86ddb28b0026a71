import type { Request, Response } from 'express';

export interface ProxiedRequest {
  method: string;
  path: string;
  body: unknown;
}

/**
 * In place of the proxy forwarder in tests: records what the orchestrator would send on (method,
 * path, the body as received) and answers 200, so a test sees what reaches the proxy and what is
 * refused before it.
 */
export class StandInProxy {
  readonly forwarded: ProxiedRequest[] = [];

  forward(req: Request, res: Response, path: string): Promise<void> {
    this.forwarded.push({ method: req.method, path, body: req.body });
    res.status(200).json({ forwarded: true });
    return Promise.resolve();
  }
}
