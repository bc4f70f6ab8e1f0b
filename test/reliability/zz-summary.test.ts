/**
 * Runs last (files run in name order, one at a time): prints the summary table the other files
 * recorded (faults, forged answers, fuzz cases and the slowest packet, the soak's heap delta),
 * then removes the run's summary file.
 */
import { test } from 'node:test';
import { clearSummary, readSummary, summaryFile, type SummaryRow } from './support.ts';

/** Sections in the order the issue lists them; others follow. */
const SECTION_ORDER = ['faults (DNS)', 'faults (DNS connections)', 'faults (API)', 'spoofing', 'fuzz', 'hostile answers', 'soak'];

/** The rows as a table: one block per section, `case | result`, cases padded to one width. */
function formatSummary(unsorted: readonly SummaryRow[]): string {
  const rank = (section: string): number => {
    const i = SECTION_ORDER.indexOf(section);
    return i === -1 ? SECTION_ORDER.length : i;
  };
  // Stable sort: rows keep their order within a section.
  const rows = [...unsorted].sort((a, b) => rank(a.section) - rank(b.section));
  if (rows.length === 0) return `reliability summary: no rows in ${summaryFile()} (run the whole suite: npm run test:reliability)`;
  const width = Math.min(60, Math.max(...rows.map((r) => r.item.length)));
  const lines = [`reliability summary (node ${process.version}${process.env.CI === 'true' ? ', CI' : ''})`];
  let section = '';
  for (const r of rows) {
    if (r.section !== section) {
      section = r.section;
      lines.push('', `## ${section}`);
    }
    lines.push(`| ${r.item.padEnd(width)} | ${r.result}`);
  }
  return lines.join('\n');
}

test('summary', () => {
  const rows = readSummary();
  console.log(`\n${formatSummary(rows)}\n`);
  clearSummary();
});
