import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, deleteConversation, listConversations, login, renameConversation } from './api';
import { respond, stubFetch } from '../test/respond';


describe('api client', () => {
  const fetchMock = stubFetch();
  afterEach(() => {
    document.cookie = 'csrftoken=; expires=Thu, 01 Jan 1970 00:00:00 GMT';
  });

  it('builds the list query and sends no CSRF header on GET', async () => {
    fetchMock.mockResolvedValue(respond(200, { items: [], next_cursor: null }));
    await listConversations({ q: 'rust', limit: 20, cursor: 'abc' });
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toBe('/api/conversations/?q=rust&limit=20&cursor=abc');
    expect(init.method).toBe('GET');
    expect(init.credentials).toBe('same-origin');
    expect(init.headers['X-CSRFToken']).toBeUndefined();
  });

  it('sends the CSRF token from the cookie on PATCH and DELETE', async () => {
    fetchMock.mockResolvedValueOnce(respond(200, { id: 'c1', title: 'New', created_at: '', updated_at: '' }));
    fetchMock.mockResolvedValueOnce(respond(204));
    await renameConversation('c1', 'New');
    await deleteConversation('c1');
    expect(fetchMock.mock.calls[0][1]).toMatchObject({ method: 'PATCH', body: '{"title":"New"}' });
    expect(fetchMock.mock.calls[0][1].headers['X-CSRFToken']).toBe('tok123');
    expect(fetchMock.mock.calls[1][0]).toBe('/api/conversations/c1/');
    expect(fetchMock.mock.calls[1][1].headers['X-CSRFToken']).toBe('tok123');
  });

  it('turns the error body and Retry-After into an ApiError', async () => {
    fetchMock.mockResolvedValue(
      respond(429, { error: { code: 'rate_limited', message: 'Slow down' } }, { 'Retry-After': '7' }),
    );
    const error = await listConversations().catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 429, code: 'rate_limited', message: 'Slow down', retryAfter: 7 });
  });

  it('logs in with a form post and confirms the session with /api/me/', async () => {
    fetchMock.mockResolvedValueOnce(respond(200));
    fetchMock.mockResolvedValueOnce(respond(200, { username: 'alice' }));
    await expect(login('/accounts/login/', 'alice', 'pw')).resolves.toEqual({ username: 'alice' });
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toBe('/accounts/login/');
    expect(init.method).toBe('POST');
    expect(init.headers['X-CSRFToken']).toBe('tok123');
    expect(Object.fromEntries(new URLSearchParams(String(init.body)))).toEqual({
      username: 'alice',
      password: 'pw',
      csrfmiddlewaretoken: 'tok123',
    });
    expect(fetchMock.mock.calls[1][0]).toBe('/api/me/');
  });

  it('reports a wrong password when /api/me/ still answers 401', async () => {
    fetchMock.mockResolvedValueOnce(respond(200));
    fetchMock.mockResolvedValueOnce(respond(401, { error: { code: 'not_authenticated', message: 'x' } }));
    await expect(login('/accounts/login/', 'alice', 'bad')).rejects.toMatchObject({ code: 'login_failed' });
  });
});
