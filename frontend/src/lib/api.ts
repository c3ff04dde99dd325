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
  ConversationSettings,
  Folder,
  ImportJob,
  Me,
  ModelCatalogue,
  SharedConversation,
  ShareLink,
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
  const form = body instanceof FormData;
  if (body !== undefined && !form) headers['Content-Type'] = 'application/json';
  if (UNSAFE.has(method)) headers['X-CSRFToken'] = csrfToken();
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : form ? body : JSON.stringify(body),
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

/** Which conversations a list shows (absent: any). `folder`: a folder id, or 'none'. */
export interface ListFilters {
  archived?: boolean;
  pinned?: boolean;
  folder?: string;
}

export interface ListParams extends ListFilters {
  q?: string;
  limit?: number;
  cursor?: string | null;
}

export function listConversations({ q, limit, cursor, archived, pinned, folder }: ListParams = {}): Promise<ConversationPage> {
  const params = new URLSearchParams();
  if (q) params.set('q', q);
  if (limit) params.set('limit', String(limit));
  if (cursor) params.set('cursor', cursor);
  if (archived !== undefined) params.set('archived', String(archived));
  if (pinned !== undefined) params.set('pinned', String(pinned));
  if (folder) params.set('folder', folder);
  const query = params.toString();
  return request('GET', `/api/conversations/${query ? `?${query}` : ''}`);
}

export function getConversation(id: string): Promise<ConversationDetail> {
  return request('GET', `/api/conversations/${id}/`);
}

export function renameConversation(id: string, title: string): Promise<Conversation> {
  return request('PATCH', `/api/conversations/${id}/`, { title });
}

/** Pin, archive or file a conversation (folder_id null: no folder). */
export function organizeConversation(
  id: string,
  changes: { pinned?: boolean; archived?: boolean; folder_id?: string | null },
): Promise<Conversation> {
  return request('PATCH', `/api/conversations/${id}/`, changes);
}

export function listFolders(): Promise<Folder[]> {
  return request('GET', '/api/folders/');
}

export function createFolder(name: string): Promise<Folder> {
  return request('POST', '/api/folders/', { name });
}

export function updateFolder(id: string, changes: { name?: string; model?: string; system_prompt?: string }): Promise<Folder> {
  return request('PATCH', `/api/folders/${id}/`, changes);
}

export function deleteFolder(id: string): Promise<void> {
  return request('DELETE', `/api/folders/${id}/`);
}

export function updateConversationSettings(
  id: string,
  settings: Partial<ConversationSettings>,
): Promise<Conversation> {
  return request('PATCH', `/api/conversations/${id}/`, settings);
}

export function getModels(): Promise<ModelCatalogue> {
  return request('GET', '/api/models/');
}

export function deleteConversation(id: string): Promise<void> {
  return request('DELETE', `/api/conversations/${id}/`);
}

export function exportUrl(id: string, format: 'markdown' | 'json'): string {
  return `/api/conversations/${id}/export/?format=${format}`;
}

/** Upload a file to import (ChatGPT's export or this app's); it is read in the background. */
export function startImport(file: File): Promise<ImportJob> {
  const body = new FormData();
  body.append('file', file);
  return request('POST', '/api/imports/', body);
}

export function getImport(id: string): Promise<ImportJob> {
  return request('GET', `/api/imports/${id}/`);
}

export function createShare(conversationId: string): Promise<ShareLink> {
  return request('POST', `/api/conversations/${conversationId}/shares/`);
}

export function listShares(conversationId: string): Promise<ShareLink[]> {
  return request('GET', `/api/conversations/${conversationId}/shares/`);
}

export function revokeShare(token: string): Promise<void> {
  return request('DELETE', `/api/shares/${encodeURIComponent(token)}/`);
}

export function getShared(token: string): Promise<SharedConversation> {
  return request('GET', `/api/shares/${encodeURIComponent(token)}/`);
}

/** "Continue in my chats": a copy of a shared conversation; its new id. */
export function copyShared(token: string): Promise<{ conversation_id: string }> {
  return request('POST', `/api/shares/${encodeURIComponent(token)}/copy/`);
}

/** Every conversation as one zip (a download). */
export const BULK_EXPORT_URL = '/api/export/';

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
