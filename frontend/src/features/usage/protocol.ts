/**
 * Usage's addition to the wire contract (mirror of src/usage/protocol.py; docs/protocol.md):
 * the `quota_exceeded` refusal of a send or regenerate, with its budget and reset time.
 */
export const QUOTA_EXCEEDED = 'quota_exceeded';

export interface QuotaDetails {
  period: 'day' | 'month';
  kind: 'messages' | 'tokens';
  limit: number;
  used: number;
  /** ISO 8601, UTC: when the budget is whole again. */
  resets_at: string;
}
