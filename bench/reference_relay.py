"""The reference relay of bench/load.py: LangChain's `astream()` relayed as SSE, nothing else.

A raw ASGI app (no framework, no database, no session): `POST /relay` with `{"content": str}`
streams the same upstream the chat server uses, one SSE event per chunk, shaped like the
chat server's `message.delta` / `message.done` frames so one client reads both. It is the
floor a chat server's relay cost is compared with: served by the same Daphne, same provider
class, one chat model reused across requests (as a bare FastAPI endpoint would).

    daphne -b 127.0.0.1 -p 8001 bench.reference_relay:app   # LLM_BASE_URL=... LLM_MODEL=...
"""
import json
import os

from langchain_openai import ChatOpenAI

MODEL = ChatOpenAI(
    base_url=os.environ["LLM_BASE_URL"],
    api_key=os.environ.get("LLM_API_KEY", "x"),
    model=os.environ.get("LLM_MODEL", "fake-model"),
    max_retries=0,
    stream_usage=True,
)


def event(frame: dict) -> bytes:
    return f"event: {frame['type']}\ndata: {json.dumps(frame)}\n\n".encode()


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "http":
        return
    if scope["path"] == "/healthz":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    content = json.loads(body or b"{}").get("content", "")
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})
    seq, text = 0, []
    async for chunk in MODEL.astream([("user", content)]):
        if chunk.content:
            seq += 1
            text.append(chunk.content)
            await send({"type": "http.response.body", "more_body": True, "body": event(
                {"type": "message.delta", "message_id": "ref", "seq": seq, "part": "content", "delta": chunk.content})})
    done = {"type": "message.done", "message": {"role": "assistant", "status": "complete", "content": "".join(text), "seq": seq}}
    await send({"type": "http.response.body", "body": event(done)})
