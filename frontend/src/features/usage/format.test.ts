import { describe, expect, it } from 'vitest';
import { formatUsage } from './format';

const totals = { answers: 1, input_tokens: 1000, output_tokens: 234, counted_answers: 0, cost: '0.004500' };

describe('formatUsage', () => {
  it('shows tokens, answers and cost', () => {
    expect(formatUsage(totals, 'USD')).toBe('1,234 tokens · 1 answer · 0.0045 USD');
    expect(formatUsage({ ...totals, answers: 3, cost: '12.5' }, 'EUR')).toBe('1,234 tokens · 3 answers · 12.50 EUR');
  });

  it('leaves out a zero cost and says when counts are estimates', () => {
    expect(formatUsage({ ...totals, cost: '0.000000', counted_answers: 1 }, 'USD')).toBe(
      '1,234 tokens · 1 answer (some estimated)',
    );
  });
});
