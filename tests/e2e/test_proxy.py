"""nginx in front of several Daphne processes, with the repo's configuration: streams pass
through unbuffered, static files come from disk with the app's cache headers, the client's
address reaches the app (from the proxy only), and body limits agree with the app's.

Real parts: Debian's nginx (skipped without it), three Daphne processes on PostgreSQL and
Redis, the loopback fake upstream (conftest.py: `cluster`).
"""
import asyncio
import json
import re
import time
import uuid

import httpx
import pytest
from django.conf import settings

from tests.fake_upstream import Scenario

from .asker import Asker
from .proxy import DIST, Nginx
from .servers import ROOT, Server, base_env
from .tabs import deltas, is_answer_done, open_tab
from .test_multiprocess import LONG_TEXT, send

pytestmark = pytest.mark.e2e


def api_headers(front, session: str) -> dict:
    csrf = "c" * 32
    return {"Cookie": f"sessionid={session}; csrftoken={csrf}", "X-CSRFToken": csrf, "Origin": front.url}


# --- streams pass through as they come ------------------------------------------------------
async def test_socket_through_nginx_gets_deltas_before_the_answer_ends(cluster, upstream):
    # The upstream sends 5 tokens, then nothing until it is hung up on: a delta can only
    # arrive while the answer is still running, so a buffering proxy fails here.
    scenario = Scenario.words(LONG_TEXT, hang_after=5)
    upstream.enqueue(scenario)
    tab, _ = await open_tab(cluster.nginx, uuid.uuid4(), cluster.session)
    await tab.send(send("Five tokens, then wait"))
    frames = await tab.until(lambda f: f["type"] == "message.delta")
    assert "".join(f["delta"] for f in deltas(frames)) and not any(is_answer_done(f) for f in frames)
    await tab.send({"type": "generation.stop"})
    done = (await tab.until_done())[-1]["message"]
    await tab.close()
    assert done["status"] == "stopped" and scenario.text.startswith(done["content"])
    assert done["content"] == "".join(scenario.content[:5])


async def test_sse_through_nginx_gets_deltas_before_the_answer_ends(cluster, upstream):
    scenario = Scenario.words(LONG_TEXT, hang_after=5)
    upstream.enqueue(scenario)
    cid = uuid.uuid4()
    headers = api_headers(cluster.nginx, cluster.session)
    events: list[tuple[str, dict]] = []
    async with httpx.AsyncClient(base_url=cluster.nginx.url, timeout=30) as client:
        async with client.stream("POST", f"/api/conversations/{cid}/messages/", json={"content": "Stream it"},
                                 headers=headers) as response:
            assert response.status_code == 200, await response.aread()
            assert response.headers["content-type"].startswith("text/event-stream")
            stopped = False
            async for block in _sse_blocks(response):
                event = dict(line.split(": ", 1) for line in block.split("\n") if not line.startswith(":"))
                events.append((event["event"], json.loads(event["data"])))
                if event["event"] == "message.delta" and not stopped:
                    stopped = True  # the first delta is here while the upstream waits: stop it
                    assert (await client.post(f"/api/conversations/{cid}/stop/", headers=headers)).status_code == 202
                if event["event"] == "message.done" and events[-1][1]["message"]["role"] == "assistant":
                    break
    kinds = [kind for kind, _ in events]
    assert "message.delta" in kinds and kinds.index("message.delta") < kinds.index("message.done")
    assert events[-1][1]["message"]["status"] == "stopped"
    assert events[-1][1]["message"]["content"] == "".join(scenario.content[:5])


async def _sse_blocks(response):
    buffer = ""
    async for text in response.aiter_text():
        buffer += text
        *blocks, buffer = buffer.split("\n\n")
        for block in blocks:
            if block.strip() and not block.startswith(":"):
                yield block


async def test_every_process_serves_sockets_through_nginx(cluster, upstream):
    """Round robin without sticky sessions: sockets opened one after another land on every
    process, and each asks and gets its whole answer."""
    askers = [Asker(cluster.nginx, cluster.session) for _ in range(6)]
    scenario = Scenario.words("An answer from whichever process holds the socket.", delay=0.01)
    upstream.enqueue(*[scenario] * len(askers))
    seen = [await asker.ask(f"question {n}") for n, asker in enumerate(askers)]
    for asker in askers:
        await asker.close()
    assert all(s.whole for s in seen), seen
    every = {f"127.0.0.1:{s.port}" for s in cluster.servers}
    deadline = time.monotonic() + 10
    while (served := cluster.nginx.upstreams_of("/ws/chat/")) < every and time.monotonic() < deadline:
        await asyncio.sleep(0.1)  # a socket's line is written once nginx has closed it
    assert served >= every, served


# --- static files ---------------------------------------------------------------------------------
def built_asset() -> str:
    names = sorted(path.name for path in (DIST / "assets").glob("main-*.js"))
    if not names:
        pytest.skip("the client is not built (frontend/dist): npm --prefix frontend run build")
    return f"/static/assets/{names[0]}"


def test_static_files_come_from_disk_with_the_apps_cache_headers(cluster):
    asset = built_asset()
    direct = cluster.servers[0].url
    for path in (asset, "/static/favicon.svg"):
        via = httpx.get(cluster.nginx.url + path, headers={"Accept-Encoding": "identity"})
        app = httpx.get(direct + path, headers={"Accept-Encoding": "identity"})
        assert via.status_code == app.status_code == 200, path
        assert via.content == app.content == (DIST / path.removeprefix("/static/")).read_bytes()
        assert via.headers["cache-control"] == app.headers["cache-control"], path
        # (mime.types says application/javascript where WhiteNoise says text/javascript: both run)
        same_type = {t.split(";")[0].replace("application/javascript", "text/javascript")
                     for t in (via.headers["content-type"], app.headers["content-type"])}
        assert len(same_type) == 1, (via.headers["content-type"], app.headers["content-type"])
    assert "immutable" in httpx.get(cluster.nginx.url + asset).headers["cache-control"]
    assert "immutable" not in httpx.get(cluster.nginx.url + "/static/favicon.svg").headers["cache-control"]
    gzip = httpx.get(cluster.nginx.url + asset, headers={"Accept-Encoding": "gzip"})
    assert gzip.headers["content-encoding"] == "gzip" and "Accept-Encoding" in gzip.headers["vary"]
    assert gzip.content == (DIST / asset.removeprefix("/static/")).read_bytes()  # httpx decodes it
    # nginx served those itself; a file it lacks (Django admin's) comes from Daphne.
    admin = httpx.get(cluster.nginx.url + "/static/admin/css/base.css")
    assert admin.status_code == 200 and "text/css" in admin.headers["content-type"]
    assert cluster.nginx.upstreams_of(asset) == cluster.nginx.upstreams_of("/static/favicon.svg") == {"-"}
    assert cluster.nginx.upstreams_of("/static/admin/css/base.css") <= {f"127.0.0.1:{s.port}" for s in cluster.servers}


def test_the_immutable_pattern_is_the_apps():
    """nginx caches for good exactly the files WhiteNoise does (config/settings.py)."""
    template = (ROOT / "deploy" / "nginx" / "chat.conf.template").read_text()
    nested = re.search(r'location ~ "(\^/static/assets/[^"]+)"', template)
    assert nested and nested[1] == settings.WHITENOISE_IMMUTABLE_FILE_TEST


# --- limits -------------------------------------------------------------------------------------
def test_body_limits_the_apps_answer_then_nginx(cluster):
    headers = {**api_headers(cluster.nginx, cluster.session), "Content-Type": "application/json"}
    url = f"{cluster.nginx.url}/api/conversations/{uuid.uuid4()}/messages/"
    over_the_app = b'{"content": "' + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024) + b'"}'
    app = httpx.post(url, content=over_the_app, headers=headers, timeout=30)
    assert app.status_code == 413 and app.json()["error"]["code"] == "too_large"
    over_nginx = b"x" * (4 * 1024 * 1024)
    refused = httpx.post(url, content=over_nginx, headers=headers, timeout=30)
    assert refused.status_code == 413 and "nginx" in refused.text


def test_imports_take_large_uploads_and_the_bulk_export_streams_through_nginx(cluster):
    headers = api_headers(cluster.nginx, cluster.session)
    url = f"{cluster.nginx.url}/api/imports/"
    # Over the general 3 MiB limit, within the import's: the app takes it (and finds it is no
    # export: the job fails, saying why).
    big = b"[" + b" " * (6 * 1024 * 1024) + b"]"
    taken = httpx.post(url, files={"file": ("conversations.json", big)}, headers=headers, timeout=60)
    assert taken.status_code == 202, taken.text
    job = taken.json()
    deadline = time.monotonic() + 20
    while job["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
        job = httpx.get(f"{url}{job['id']}/", headers=headers, timeout=10).json()
    assert (job["status"], job["imported"]) == ("done", 0), job  # an empty list: nothing to import
    refused = httpx.post(url, files={"file": ("c.json", b"x" * (56 * 1024 * 1024))}, headers=headers, timeout=60)
    assert refused.status_code == 413 and "nginx" in refused.text

    with httpx.stream("GET", f"{cluster.nginx.url}/api/export/", headers=headers, timeout=30) as response:
        assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
        data = b"".join(response.iter_bytes())
    assert data.startswith(b"PK") and b"index.md" in data


# --- the client's address --------------------------------------------------------------------
@pytest.fixture
def echo_behind_nginx(tmp_path):
    """tests/proxy_echo_app.py on Daphne, trusting 127.0.0.1 (nginx), behind nginx of its own."""
    server = Server("echo", base_env(DJANGO_TRUSTED_PROXIES="127.0.0.1/32"), tmp_path,
                    app="tests.proxy_echo_app:app").start()
    nginx = Nginx(tmp_path / "nginx", [f"127.0.0.1:{server.port}"])
    try:
        server.wait_ready()
        yield nginx.start(), server
    finally:
        nginx.stop()
        server.kill()


def test_the_app_sees_the_clients_address_believed_only_from_the_proxy(echo_behind_nginx):
    nginx, daphne = echo_behind_nginx
    spoof = {"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9", "X-Forwarded-Proto": "https"}
    # The client comes from 127.0.0.2, a loopback address of its own; nginx reaches Daphne
    # from 127.0.0.1, the one trusted proxy. What the client wrote in the headers is not believed.
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2")) as client:
        via = client.get(f"{nginx.url}/who", headers=spoof).json()
        direct = client.get(f"{daphne.url}/who", headers=spoof).json()
    assert via == {"client": "127.0.0.2", "scheme": "http", "host": f"127.0.0.1:{nginx.port}"}
    assert direct == {"client": "127.0.0.2", "scheme": "http", "host": f"127.0.0.1:{daphne.port}"}
