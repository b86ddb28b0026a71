import pc from 'picocolors';
import { cellText, colorsFor, formatAge, formatDuration, renderFields } from './output.format';

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

  it('renders label/value pairs as a table', () => {
    const text = renderFields(
      [
        ['id', '1000'],
        ['endpoint', null],
      ],
      pc.createColors(false),
    );
    expect(text).toMatch(/│ id +│ 1000 +│/);
    expect(text).toMatch(/│ endpoint +│ - +│/);
  });
});
