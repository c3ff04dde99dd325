import { afterEach, beforeEach, vi } from 'vitest';

/** A fetch Response with a JSON body (or none), for tests that stub `fetch`. */
export function respond(status: number, body?: unknown, headers: Record<string, string> = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers });
}

/** Stub `fetch` (and set a CSRF cookie) around each test of the calling `describe`. */
export function stubFetch(csrf = 'tok123') {
  const fetchMock = vi.fn();
  beforeEach(() => {
    vi.stubGlobal('fetch', fetchMock);
    document.cookie = `csrftoken=${csrf}`;
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    fetchMock.mockReset();
  });
  return fetchMock;
}
