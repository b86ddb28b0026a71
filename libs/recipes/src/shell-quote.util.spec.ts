import { execFileSync } from 'node:child_process';
import fc from 'fast-check';

import { RenderError } from './recipe.errors';
import { shellQuote } from './shell-quote.util';

/** What bash makes of the quoted word: the bytes printf receives as its argument. */
function bashExpands(quoted: string): Buffer {
  return execFileSync('bash', ['-c', 'printf %s ' + quoted]);
}

describe('shellQuote', () => {
  it.each([
    ['', "''"],
    ['plain', "'plain'"],
    ["it's", "'it'\\''s'"],
    ['$(id) `id` ${HOME}', "'$(id) `id` ${HOME}'"],
  ])('quotes %j as %s', (value, expected) => {
    expect(shellQuote(value)).toBe(expected);
  });

  it('refuses NUL, which no shell word can carry', () => {
    expect(() => shellQuote('a\0b')).toThrow(RenderError);
  });

  it('gives back the input byte for byte when bash evaluates it', () => {
    const tricky = fc
      .array(
        fc.constantFrom(
          "'",
          '"',
          '\\',
          '$',
          '`',
          '$(id)',
          '!',
          '\n',
          '\t',
          ';',
          '&',
          '|',
          '*',
          '?',
          '~',
          '#',
          ' ',
          '{',
          '}',
          'é',
          '🙂',
          'x',
        ),
      )
      .map((parts) => parts.join(''));
    const value = fc
      .oneof(fc.string({ unit: 'binary', maxLength: 80 }), tricky)
      .filter((s) => !s.includes('\0'));
    fc.assert(
      fc.property(value, (input) => {
        expect(bashExpands(shellQuote(input)).equals(Buffer.from(input, 'utf8'))).toBe(true);
      }),
      { numRuns: 200 },
    );
    // One bash process per case: slow on a busy machine, never a hang.
  }, 60_000);
});
