import { useState, type FormEvent } from 'react';
import { Button } from '../../../components/ui/Button';
import type { ConversationSettings } from '../../../lib/protocol';
import { parseTemperature, TEMPERATURE_MAX } from '../settings';

interface SettingsPanelProps {
  settings: ConversationSettings;
  saving?: boolean;
  onSave: (next: Pick<ConversationSettings, 'system_prompt' | 'temperature'>) => void;
  onClose: () => void;
}

/** The chat's system prompt and temperature (blank: the model's default). */
export function SettingsPanel({ settings, saving, onSave, onClose }: SettingsPanelProps) {
  const [prompt, setPrompt] = useState(settings.system_prompt);
  const [temperature, setTemperature] = useState(settings.temperature === null ? '' : String(settings.temperature));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSave({ system_prompt: prompt, temperature: parseTemperature(temperature) });
  };

  return (
    <form
      aria-label="Chat settings"
      onSubmit={submit}
      className="space-y-2 border-b border-zinc-200 px-4 py-3 text-sm dark:border-zinc-800"
    >
      <label className="block">
        <span className="mb-1 block font-medium">System prompt</span>
        <textarea
          className="w-full rounded-md border border-zinc-300 bg-white p-2 dark:border-zinc-700 dark:bg-zinc-900"
          rows={3}
          maxLength={8000}
          value={prompt}
          placeholder="How the model should answer in this chat (added after the server's own prompt)"
          onChange={(event) => setPrompt(event.target.value)}
        />
      </label>
      <label className="flex items-center gap-2">
        <span className="font-medium">Temperature</span>
        <input
          className="w-20 rounded-md border border-zinc-300 bg-white px-2 py-1 dark:border-zinc-700 dark:bg-zinc-900"
          type="number"
          min={0}
          max={TEMPERATURE_MAX}
          step={0.1}
          value={temperature}
          placeholder="default"
          onChange={(event) => setTemperature(event.target.value)}
        />
        <span className="text-zinc-500">0 to {TEMPERATURE_MAX}; blank: the model&apos;s default</span>
      </label>
      <div className="flex gap-2">
        <Button type="submit" variant="primary" disabled={saving}>
          Save settings
        </Button>
        <Button onClick={onClose}>Close</Button>
      </div>
    </form>
  );
}
