import { z } from 'zod';
import {
  ConfigError,
  MIN_TOKEN_BYTES,
  optionalTokenFromEnv,
  parseConfig,
  requiredTokenFromEnv,
} from './config';

describe('bearer tokens between the hops', () => {
  const schema = z.object({ TOKEN: requiredTokenFromEnv, OTHER: optionalTokenFromEnv });
  const long = 'k'.repeat(MIN_TOKEN_BYTES);

  it.each([
    [{}, /TOKEN: is required: at least 32 bytes/],
    [{ TOKEN: '   ' }, /TOKEN: is required/],
    [{ TOKEN: 'k'.repeat(31) }, /TOKEN: must be at least 32 bytes/],
    [{ TOKEN: long, OTHER: 'short' }, /OTHER: must be at least 32 bytes/],
  ])('refuses %j, saying how to make a good one', (env, message) => {
    expect(() => parseConfig('app', schema, env)).toThrow(ConfigError);
    expect(() => parseConfig('app', schema, env)).toThrow(message);
  });

  it('takes one of 32 bytes or more; the optional one may be left out', () => {
    expect(parseConfig('app', schema, { TOKEN: long })).toEqual({ TOKEN: long, OTHER: undefined });
  });
});
