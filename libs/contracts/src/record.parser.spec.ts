import { z } from 'zod';
import { CorruptRecordError, parseJsonRecord } from './record.parser';
import { serviceConfigSchema } from './records';

const schema = z.object({ id: z.string(), count: z.number() });
const KEY = 'aiplane:thing:7';

function failure(text: string): unknown {
  try {
    parseJsonRecord(KEY, schema, text);
  } catch (error) {
    return error;
  }
  throw new Error('expected the record to be refused');
}

describe('parseJsonRecord', () => {
  it('returns a valid record, typed', () => {
    expect(parseJsonRecord(KEY, schema, '{"id":"7","count":2}')).toEqual({ id: '7', count: 2 });
  });

  it('names the key and the missing field of a record that lacks one', () => {
    const error = failure('{"id":"7"}');
    expect(error).toBeInstanceOf(CorruptRecordError);
    expect(error).toMatchObject({
      code: 'CORRUPT_RECORD',
      key: KEY,
      message: expect.stringContaining('count'),
    });
    expect((error as Error).message).toContain(KEY);
  });

  it.each(['not json at all', '{"id":', '', '[1,2]', 'null', '"7"'])(
    'refuses garbage (%j), naming the key',
    (text) => {
      expect(failure(text)).toMatchObject({ code: 'CORRUPT_RECORD', key: KEY });
    },
  );
});

describe('serviceConfigSchema', () => {
  it('takes a config as the edge accepted it, unknown keys kept', () => {
    const config = {
      environment: { HF_TOKEN: '***', DEBUG: true },
      resources: { nodes: '2', gpu: null },
      extra: 1,
    };
    expect(serviceConfigSchema.parse(config)).toEqual(config);
  });

  it('refuses a config whose fields have the wrong shape', () => {
    expect(serviceConfigSchema.safeParse({ resources: { nodes: [2] } }).success).toBe(false);
    expect(serviceConfigSchema.safeParse({ environment: { A: { nested: 1 } } }).success).toBe(false);
    expect(serviceConfigSchema.safeParse('cpu=2').success).toBe(false);
  });
});
