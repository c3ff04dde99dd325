import { request } from '../../lib/api';

/** One period's usage (docs/api.md "Usage"); `cost` is a decimal string in `currency`. */
export interface UsageTotals {
  answers: number;
  input_tokens: number;
  output_tokens: number;
  /** Answers whose tokens the server counted itself (the upstream reported none). */
  counted_answers: number;
  cost: string;
}

export interface MyUsage {
  currency: string;
  today: UsageTotals;
  month: UsageTotals;
}

export function getMyUsage(): Promise<MyUsage> {
  return request('GET', '/api/usage/');
}
