import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { DOCUMENT_CLIENT_CREATE_REQUESTS } from '@aiplane/contracts';
import { CreateServiceDto } from './services.dto';

// Flattened as the validation pipe does, with the property path in front of each message.
function problems(body: unknown, parent = ''): string[] {
  const flatten = (errors: ValidationError[], prefix: string): string[] =>
    errors.flatMap((error) => {
      const path = prefix ? `${prefix}.${error.property}` : error.property;
      const own = Object.values(error.constraints ?? {}).map((text) =>
        text.startsWith(error.property) ? `${path}${text.slice(error.property.length)}` : `${path}: ${text}`,
      );
      return [...own, ...flatten(error.children ?? [], path)];
    });
  const errors = validateSync(plainToInstance(CreateServiceDto, body), {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
  });
  return flatten(errors, parent);
}

const create = (config: Record<string, unknown>) => ({ recipe_name: 'vllm-single-node', config });

describe('CreateServiceDto: the flat config shortcuts', () => {
  it.each(Object.entries(DOCUMENT_CLIENT_CREATE_REQUESTS))(
    "accepts the document's clients' %s request",
    (_name, { body }) => {
      expect(problems(body)).toEqual([]);
    },
  );

  it('accepts each shortcut in the forms its target accepts', () => {
    expect(
      problems(
        create({
          nodes: '1',
          cpu: 8,
          memory: '64g',
          gpu: null,
          time_limit: '120',
          model: 'gpt2',
          max_model_len: '2048',
          gpu_memory_utilization: 0.9,
          replica_port: 8001,
          base_port: '8001',
        }),
      ),
    ).toEqual([]);
  });

  it.each([
    ['memory', '16 GB', 'config.memory must look like 64G, 512M or 1024'],
    ['nodes', 'one', 'config.nodes must be a whole number (or a string of digits)'],
    ['cpu', -2, 'config.cpu must be a whole number (or a string of digits)'],
    ['gpu', 1.5, 'config.gpu must be a whole number (or a string of digits)'],
    ['time_limit', [60], 'config.time_limit must be a whole number (or a string of digits)'],
    ['model', { id: 'gpt2' }, 'config.model must be a string, number or boolean'],
    ['max_model_len', null, undefined],
    ['replica_port', [8001], 'config.replica_port must be a string, number or boolean'],
    ['base_port', 'high', 'config.base_port must be a whole number (or a string of digits)'],
  ])('config.%s = %j is refused as its target would be, naming config.%s', (key, value, message) => {
    expect(problems(create({ [key]: value }))).toEqual(message === undefined ? [] : [message]);
  });

  it('refuses a bad config.memory in the same words as a bad config.resources.memory', () => {
    const [flat] = problems(create({ memory: 'lots' }));
    const [nested] = problems(create({ resources: { memory: 'lots' } }));
    expect(flat?.replace('config.memory', 'config.resources.memory')).toBe(nested);
  });

  it('still refuses unknown config keys, gpus and partition (not a shortcut) among them', () => {
    expect(problems(create({ gpus: 2 }))).toEqual(['config.gpus: property gpus should not exist']);
    expect(problems(create({ partition: 'gpu' }))).toEqual([
      'config.partition: property partition should not exist',
    ]);
  });
});
