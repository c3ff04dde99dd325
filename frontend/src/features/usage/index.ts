export { UsageSummary } from './UsageSummary';
