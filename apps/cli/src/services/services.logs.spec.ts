import { appendedLines, newLogText, parseLogSections } from './services.logs';

describe('following logs by polling', () => {
  it('splits an answer into its sections', () => {
    const text = '=== STDOUT ===\na\nb\n=== STDERR ===\n\n=== REPLICA 1:8001 ===\nr1\n';
    expect(parseLogSections(text)).toEqual([
      ['=== STDOUT ===', ['a', 'b']],
      ['=== STDERR ===', []],
      ['=== REPLICA 1:8001 ===', ['r1']],
    ]);
  });

  it.each([
    ['nothing new', ['a', 'b'], ['a', 'b'], []],
    ['lines added under the window', ['a', 'b'], ['a', 'b', 'c', 'd'], ['c', 'd']],
    ['the window slid past old lines', ['a', 'b', 'c'], ['b', 'c', 'd'], ['d']],
    ['repeated lines kept', ['x', 'x'], ['x', 'x', 'x'], ['x']],
    ['nothing in common', ['a'], ['b', 'c'], ['b', 'c']],
    ['a first read', [], ['a'], ['a']],
  ])('%s', (_what, prev, next, added) => {
    expect(appendedLines(prev, next)).toEqual(added);
  });

  it('prints what each section gained, under its heading when another section was printed last', () => {
    const prev = parseLogSections('=== STDOUT ===\na\n=== STDERR ===\ne1\n');
    const next = parseLogSections('=== STDOUT ===\na\nb\n=== STDERR ===\ne1\ne2\n');
    expect(newLogText(prev, next)).toEqual({
      text: '=== STDOUT ===\nb\n=== STDERR ===\ne2\n',
      shown: '=== STDERR ===',
    });
    expect(newLogText(prev, next, '=== STDOUT ===').text).toBe('b\n=== STDERR ===\ne2\n');
    expect(newLogText(next, next, '=== STDOUT ===')).toEqual({ text: '', shown: '=== STDOUT ===' });
  });
});
