import type { ModelCatalogue } from '../../../lib/protocol';
import { isOffered } from '../settings';

interface ModelPickerProps {
  catalogue: ModelCatalogue | null;
  value: string | null;
  onChange: (model: string) => void;
  disabled?: boolean;
}

/** The chat header's model picker; a model the server withdrew shows as such until another is picked. */
export function ModelPicker({ catalogue, value, onChange, disabled }: ModelPickerProps) {
  if (!catalogue || !value) return null;
  const withdrawn = !isOffered(catalogue, value);
  return (
    <select
      aria-label="Model"
      className="max-w-32 truncate rounded-md sm:max-w-48 border border-zinc-300 bg-white px-2 py-1 text-sm dark:border-zinc-700 dark:bg-zinc-900"
      value={value}
      disabled={disabled}
      onChange={(event) => onChange(event.target.value)}
    >
      {withdrawn && (
        <option value={value} disabled>
          {value} (no longer offered)
        </option>
      )}
      {catalogue.models.map((model) => (
        <option key={model.id} value={model.id}>
          {model.label}
        </option>
      ))}
    </select>
  );
}
