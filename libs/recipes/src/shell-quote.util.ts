import { RenderError } from './recipe.errors';

/**
 * Quotes `value` as one bash word that expands to exactly `value`: inside single quotes nothing
 * is special, and a single quote is written as '\''. NUL cannot be carried by a shell word.
 */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new RenderError('a shell word cannot contain a NUL byte');
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
