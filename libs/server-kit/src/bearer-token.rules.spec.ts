import { bearerTokenCheck } from './bearer-token.rules';

describe('bearerTokenCheck', () => {
  const token = 'a'.repeat(32) + 'é';
  const check = bearerTokenCheck(token);

  it('accepts exactly the token', () => {
    expect(check(`Bearer ${token}`)).toBeUndefined();
  });

  it('names what is wrong with anything else', () => {
    expect(check(undefined)).toBe('missing');
    expect(check('')).toBe('missing');
    expect(check(`Basic ${token}`)).toBe('not-bearer');
    expect(check('Bearer ')).toBe('not-bearer');
    expect(check(`bearer ${token}`)).toBe('not-bearer');
    expect(check(`Bearer ${token.slice(1)}`)).toBe('wrong');
    expect(check(`Bearer ${token}x`)).toBe('wrong');
    expect(check(`Bearer ${'b'.repeat(32)}é`)).toBe('wrong');
    expect(check(`Bearer  ${token}`)).toBe('wrong');
  });
});
