/**
 * The single HTTP client: session cookie auth, X-CSRFToken on unsafe methods, and
 * errors turned into ApiError from the `{"error": {"code", "message"}}` body.
 */
import { csrfToken } from './csrf';
import type {
  ApiErrorBody,
  Conversation,
  ConversationDetail,
  ConversationPage,
  Me,
} from './protocol';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds, from Retry-After on 429. */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (UNSAFE.has(method)) headers['X-CSRFToken'] = csrfToken();
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached.');
  }
  if (!response.ok) {
    let code = `http_${response.status}`;
    let message = response.statusText || `Request failed (${response.status})`;
    try {
      const parsed = (await response.json()) as Partial<ApiErrorBody>;
      if (parsed.error) ({ code, message } = parsed.error);
    } catch {
      // not JSON: keep the status text
    }
    const retry = Number(response.headers.get('Retry-After'));
    throw new ApiError(response.status, code, message, Number.isFinite(retry) && retry > 0 ? retry : null);
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export interface ListParams {
  q?: string;
  limit?: number;
  cursor?: string | null;
}

export function listConversations({ q, limit, cursor }: ListParams = {}): Promise<ConversationPage> {
  const params = new URLSearchParams();
  if (q) params.set('q', q);
  if (limit) params.set('limit', String(limit));
  if (cursor) params.set('cursor', cursor);
  const query = params.toString();
  return request('GET', `/api/conversations/${query ? `?${query}` : ''}`);
}

export function getConversation(id: string): Promise<ConversationDetail> {
  return request('GET', `/api/conversations/${id}/`);
}

export function renameConversation(id: string, title: string): Promise<Conversation> {
  return request('PATCH', `/api/conversations/${id}/`, { title });
}

export function deleteConversation(id: string): Promise<void> {
  return request('DELETE', `/api/conversations/${id}/`);
}

export function exportUrl(id: string, format: 'markdown' | 'json'): string {
  return `/api/conversations/${id}/export/?format=${format}`;
}

export function getMe(): Promise<Me> {
  return request('GET', '/api/me/');
}

/**
 * Log in again without leaving the page: the Django login view takes a form post.
 * Success is confirmed by GET /api/me/ (the view answers 200 with the form on failure).
 */
export async function login(loginUrl: string, username: string, password: string): Promise<Me> {
  // No csrftoken cookie (cleared or never set): the login page sets one.
  if (!csrfToken()) await fetch(loginUrl, { credentials: 'same-origin' }).catch(() => undefined);
  const form = new URLSearchParams({ username, password, csrfmiddlewaretoken: csrfToken() });
  try {
    await fetch(loginUrl, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-CSRFToken': csrfToken(), 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form,
      redirect: 'follow',
    });
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached.');
  }
  try {
    return await getMe();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      throw new ApiError(401, 'login_failed', 'Wrong username or password.');
    }
    throw error;
  }
}
