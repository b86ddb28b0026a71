import pc from 'picocolors';
import { cellText, colorsFor, formatAge, formatDuration, renderFields, renderTable } from './output.format';

describe('output formatting', () => {
  it.each([
    [0, '0s'],
    [999, '0s'],
    [59_000, '59s'],
    [61_000, '1m 01s'],
    [3_723_000, '1h 02m 03s'],
    [-5, '0s'],
  ])('%i ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('says how long ago, and passes through what is not a time', () => {
    expect(formatAge('2026-12-04T11:59:30Z', Date.parse('2026-12-04T12:00:00Z'))).toBe('30s ago');
    expect(formatAge('whenever', 0)).toBe('whenever');
    expect(formatAge(null, 0)).toBeUndefined();
  });

  it('shows an empty cell as "-"', () => {
    expect([cellText(null), cellText(undefined), cellText(''), cellText(0), cellText(false)]).toEqual([
      '-',
      '-',
      '-',
      '0',
      'false',
    ]);
  });

  it('colours only a terminal', () => {
    expect(colorsFor({ isTTY: false }).red('x')).toBe('x');
    expect(colorsFor({}).red('x')).toBe('x');
  });

  it('renders label/value pairs, values aligned', () => {
    const text = renderFields(
      [
        ['id', '1000'],
        ['endpoint', null],
      ],
      pc.createColors(false),
    );
    expect(text).toBe('id:        1000\nendpoint:  -');
  });

  it('renders a table without borders, columns two spaces apart', () => {
    const text = renderTable(
      ['ID', 'STATUS'],
      [
        ['1000', 'running'],
        ['sg-1001', null],
      ],
      pc.createColors(false),
    );
    expect(text).toBe('ID       STATUS\n1000     running\nsg-1001  -');
  });

  it('wraps the last column to fit a terminal, and leaves it whole when there is no terminal', () => {
    const description = 'a long description '.repeat(6).trim();
    const rows = [['inference/vllm-single-node', description]];
    const wrapped = renderTable(['RECIPE', 'DESCRIPTION'], rows, pc.createColors(false), 60);
    expect(Math.max(...wrapped.split('\n').map((line) => line.length))).toBeLessThanOrEqual(60);
    expect(wrapped.replace(/\s+/g, ' ')).toContain(description);
    const whole = renderTable(['RECIPE', 'DESCRIPTION'], rows, pc.createColors(false));
    expect(whole.split('\n')[1]).toBe(`inference/vllm-single-node  ${description}`);
  });
});
