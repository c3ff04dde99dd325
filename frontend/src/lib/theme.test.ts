import { describe, expect, it, vi } from 'vitest';
import { applyTheme, readTheme } from './theme';

describe('theme', () => {
  it('reads the saved preference under the key Django base.html also uses', () => {
    expect(readTheme()).toBe('system');
    localStorage.setItem('theme', 'dark');
    expect(readTheme()).toBe('dark');
    localStorage.setItem('theme', 'nonsense');
    expect(readTheme()).toBe('system');
  });

  it('puts the dark class on <html> for dark, or for system when the OS prefers dark', () => {
    applyTheme('dark');
    expect(document.documentElement).toHaveClass('dark');
    applyTheme('light');
    expect(document.documentElement).not.toHaveClass('dark');
    vi.stubGlobal('matchMedia', (query: string) => ({ matches: query.includes('dark') }));
    applyTheme('system');
    expect(document.documentElement).toHaveClass('dark');
    vi.unstubAllGlobals();
  });
});
