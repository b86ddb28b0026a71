/*
 * The metric names a PromQL expression selects, for the dashboard checks. No PromQL parser is among
 * the project's dependencies, so this is a tokenizer of the grammar's lexical rules (Prometheus'
 * promql/parser/lex.go): strings, label matchers, range and subquery brackets and label lists of
 * `by`/`without`/`on`/`ignoring`/`group_left`/`group_right` are removed first; what stays is
 * identifiers, of which those followed by `(` are functions or aggregations and the keywords are
 * operators. Everything else is a metric name.
 */

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'atan2',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'start',
  'end',
  'inf',
  'nan',
  // Aggregations: `sum by (x) (...)` leaves `sum` without its parenthesis once the label list is gone.
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);

/** Words whose `(...)` lists label names, not expressions. */
const LABEL_LISTS = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)/gi;

/**
 * Every metric name `expr` selects: bare names (`foo{a="b"}`, `rate(foo[5m])`) and names given as
 * `{__name__="foo"}`. Throws on what it cannot read (an unterminated string or bracket), so a
 * malformed panel fails its check instead of passing with no names.
 */
export function promqlMetricNames(expr: string): string[] {
  const names = new Set<string>();
  let text = expr;
  // Strings first: a label value may hold any character, brackets and names included.
  text = text.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  if (/["'`]/.test(text.replace(/""/g, ''))) throw new Error(`unterminated string in: ${expr}`);
  // `{__name__="x"}` names a metric too; the strings are gone, so look in the original.
  for (const match of expr.matchAll(/__name__\s*=\s*"([^"]+)"/g)) if (match[1]) names.add(match[1]);
  text = stripBalanced(text, '{', '}', expr);
  text = stripBalanced(text, '[', ']', expr);
  text = text.replace(LABEL_LISTS, ' $1 ');
  // Numbers (1, 0.95, 1e3, 0x1f) and durations (5m, 1h30m) are not names.
  text = text.replace(
    /(?<![A-Za-z0-9_:])(?:(?:\d+(?:ms|[smhdwy]))+|0x[0-9a-f]+|\d+(?:\.\d+)?(?:e[+-]?\d+)?)/gi,
    ' ',
  );
  for (const match of text.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)) {
    const [, word, call] = match;
    if (word === undefined || call !== undefined || KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names].sort();
}

function stripBalanced(text: string, open: string, close: string, expr: string): string {
  let out = '';
  let depth = 0;
  for (const char of text) {
    if (char === open) depth += 1;
    else if (char === close) {
      depth -= 1;
      if (depth < 0) throw new Error(`unbalanced "${close}" in: ${expr}`);
    } else if (depth === 0) out += char;
  }
  if (depth !== 0) throw new Error(`unbalanced "${open}" in: ${expr}`);
  return out;
}
