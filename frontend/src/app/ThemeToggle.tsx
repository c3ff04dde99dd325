import { useTheme, type ThemePreference } from '../lib/theme';

const options: Array<{ value: ThemePreference; label: string }> = [
  { value: 'system', label: 'System' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
];

/** System / light / dark, remembered in localStorage. */
export function ThemeToggle() {
  const { theme, setTheme } = useTheme();
  return (
    <div role="radiogroup" aria-label="Colour theme" className="flex rounded-md border border-zinc-300 p-0.5 text-xs dark:border-zinc-700">
      {options.map((option) => (
        <button
          key={option.value}
          type="button"
          role="radio"
          aria-checked={theme === option.value}
          onClick={() => setTheme(option.value)}
          className={`flex-1 rounded px-2 py-1 ${
            theme === option.value ? 'bg-zinc-200 font-medium dark:bg-zinc-700' : 'text-zinc-600 dark:text-zinc-400'
          }`}
        >
          {option.label}
        </button>
      ))}
    </div>
  );
}
