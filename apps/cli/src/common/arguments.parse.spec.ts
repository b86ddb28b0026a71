import { InvalidArgumentError } from 'commander';
import {
  collectEnv,
  integerParser,
  numberParser,
  parseDuration,
  parseJsonObject,
  parseServiceId,
} from './arguments.parse';
import { parseGatewayUrl } from './cli.context';

describe('argument parsers', () => {
  it('take service ids as the contract writes them', () => {
    expect(parseServiceId('3652098')).toBe('3652098');
    expect(parseServiceId('sg-3652098')).toBe('sg-3652098');
    for (const bad of ['abc', '12a', 'sg-', '1234567890123', '../1']) {
      expect(() => parseServiceId(bad)).toThrow(InvalidArgumentError);
    }
    expect(() => parseServiceId('abc')).toThrow(/aiplane services ls/);
  });

  it.each([
    ['90', 90_000],
    ['90s', 90_000],
    ['5m', 300_000],
    ['1.5h', 5_400_000],
    ['500ms', 500],
  ])('read the duration %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['soon', '-5s', '0', '5 minutes', ''])('refuse the duration %j', (text) => {
    expect(() => parseDuration(text)).toThrow(InvalidArgumentError);
  });

  it('collect repeated --env pairs; a value may hold "="', () => {
    const first = collectEnv('A=1');
    expect(collectEnv('B=x=y', first)).toEqual({ A: '1', B: 'x=y' });
    expect(collectEnv('EMPTY=')).toEqual({ EMPTY: '' });
    for (const bad of ['NOPAIR', '1A=2', 'A B=1', '=x'])
      expect(() => collectEnv(bad)).toThrow(InvalidArgumentError);
  });

  it('bound whole numbers and numbers', () => {
    const lines = integerParser(1, 10_000);
    expect(lines('20')).toBe(20);
    for (const bad of ['0', '10001', '2.5', 'many', '-1', ''])
      expect(() => lines(bad)).toThrow(/whole number from 1 to 10000/);
    const temperature = numberParser(0, 2);
    expect(temperature('0.7')).toBe(0.7);
    for (const bad of ['3', '-0.1', 'hot', '']) expect(() => temperature(bad)).toThrow(/number from 0 to 2/);
  });

  it('parse --config as a JSON object, saying what is wrong', () => {
    expect(parseJsonObject('{"resources": {"gpu": 1}}')).toEqual({ resources: { gpu: 1 } });
    expect(() => parseJsonObject('{oops')).toThrow(/not valid JSON/);
    expect(() => parseJsonObject('[1]')).toThrow(/must be a JSON object/);
    expect(() => parseJsonObject('null')).toThrow(/must be a JSON object/);
  });

  it('take the gateway URL without its trailing slash, and refuse what is not one', () => {
    expect(parseGatewayUrl('http://127.0.0.1:8001/')).toBe('http://127.0.0.1:8001');
    expect(parseGatewayUrl('https://gw.example/prefix')).toBe('https://gw.example/prefix');
    expect(() => parseGatewayUrl('localhost:8001')).toThrow(/not an http\(s\) URL/);
    expect(() => parseGatewayUrl('not a url')).toThrow(/is not a URL/);
    expect(() => parseGatewayUrl('http://h/?x=1')).toThrow(/query or fragment/);
  });
});
