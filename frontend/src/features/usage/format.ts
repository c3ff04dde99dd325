import type { UsageTotals } from './api';

/** "1,234 tokens · 5 answers · 0.0123 USD", with a note when some counts are estimates. */
export function formatUsage(totals: UsageTotals, currency: string): string {
  const tokens = totals.input_tokens + totals.output_tokens;
  const cost = Number(totals.cost);
  const parts = [
    `${tokens.toLocaleString('en-US')} tokens`,
    `${totals.answers} ${totals.answers === 1 ? 'answer' : 'answers'}`,
  ];
  if (cost > 0) parts.push(`${cost.toFixed(cost < 0.01 ? 4 : 2)} ${currency}`);
  const text = parts.join(' · ');
  return totals.counted_answers ? `${text} (some estimated)` : text;
}
