import type { MetricFamily, Sample } from './metrics.types';

/** Label values escape backslash, double quote and newline (text format 0.0.4). */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (char) => (char === '\n' ? '\\n' : `\\${char}`));
}

/** HELP text escapes backslash and newline only. */
export function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, (char) => (char === '\n' ? '\\n' : '\\\\'));
}

export function formatLabels(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

function formatSample(sample: Sample): string {
  const timestamp = sample.timestamp === undefined ? '' : ` ${sample.timestamp}`;
  return `${sample.name}${formatLabels(sample.labels)} ${sample.value}${timestamp}\n`;
}

/** Families → text exposition, one block per family, each ending with a newline. */
export function formatExposition(families: readonly MetricFamily[]): string {
  return families
    .map((family) => {
      // Readers trim line ends, so trailing blanks of a HELP text cannot survive; and a HELP line with
      // nothing after the name is refused by some parsers, so an empty HELP is left out.
      const help = escapeHelp(family.help).trimEnd();
      const header = `${help === '' ? '' : `# HELP ${family.name} ${help}\n`}# TYPE ${family.name} ${family.type}\n`;
      return header + family.samples.map(formatSample).join('');
    })
    .join('\n');
}
