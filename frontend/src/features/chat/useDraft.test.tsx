import { act, renderHook } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { useDraft } from './useDraft';

describe('useDraft', () => {
  it('keeps the draft in localStorage per conversation', () => {
    const first = renderHook(() => useDraft('c1'));
    act(() => first.result.current.setDraft('half a thought'));
    expect(localStorage.getItem('chat.draft.c1')).toBe('half a thought');
    first.unmount();
    expect(renderHook(() => useDraft('c1')).result.current.draft).toBe('half a thought');
    expect(renderHook(() => useDraft('c2')).result.current.draft).toBe('');
    const again = renderHook(() => useDraft('c1'));
    act(() => again.result.current.setDraft(''));
    expect(localStorage.getItem('chat.draft.c1')).toBeNull();
  });

  it('moves the draft when a new chat gets its own id', () => {
    const hook = renderHook(({ key }) => useDraft(key), { initialProps: { key: 'new' } });
    act(() => hook.result.current.setDraft('follow-up'));
    hook.rerender({ key: 'c9' });
    expect(hook.result.current.draft).toBe('follow-up');
    expect(localStorage.getItem('chat.draft.new')).toBeNull();
    expect(localStorage.getItem('chat.draft.c9')).toBe('follow-up');
  });
});
