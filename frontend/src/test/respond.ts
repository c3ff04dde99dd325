/** A fetch Response with a JSON body (or none), for tests that stub `fetch`. */
export function respond(status: number, body?: unknown, headers: Record<string, string> = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers });
}
