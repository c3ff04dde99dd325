/** Theme preference (system/light/dark) persisted in localStorage, applied as `dark` on <html>. */
import { useEffect, useState } from 'react';

export type ThemePreference = 'system' | 'light' | 'dark';
// Same key as the inline script in Django's base.html, so every page agrees.
const KEY = 'theme';

export function readTheme(): ThemePreference {
  const value = localStorage.getItem(KEY);
  return value === 'light' || value === 'dark' ? value : 'system';
}

export function applyTheme(preference: ThemePreference): void {
  const dark =
    preference === 'dark' ||
    (preference === 'system' && window.matchMedia?.('(prefers-color-scheme: dark)').matches);
  document.documentElement.classList.toggle('dark', Boolean(dark));
}

export function useTheme() {
  const [theme, setTheme] = useState<ThemePreference>(readTheme);
  useEffect(() => {
    localStorage.setItem(KEY, theme);
    applyTheme(theme);
    if (theme !== 'system' || !window.matchMedia) return;
    const query = window.matchMedia('(prefers-color-scheme: dark)');
    const onChange = () => applyTheme('system');
    query.addEventListener('change', onChange);
    return () => query.removeEventListener('change', onChange);
  }, [theme]);
  return { theme, setTheme };
}
