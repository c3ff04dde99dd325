"""The nginx configuration (deploy/nginx/chat.conf.template) and its renderer, checked
without traffic; nginx in front of real processes: tests/e2e/test_proxy.py, test_drain.py."""
import re
import subprocess
import sys

import pytest
from django.conf import settings

from deploy.nginx.render import TEMPLATE, VARIABLES, RenderError, render_site, render_standalone
from tests.e2e.proxy import nginx_binary

from .test_compose import ROOT

SITE = dict(upstreams=["127.0.0.1:8001", "127.0.0.1:8002"], listen="8080", static_root="/srv/chat")


def test_one_server_line_per_process_and_every_variable_filled_in():
    text = render_site(**SITE)
    for upstream in ("chat_daphne", "chat_daphne_streams"):
        block = re.search(rf"upstream {upstream} \{{(.*?)\}}", text, re.DOTALL)[1]
        assert re.findall(r"^\s*server (\S+) ", block, re.MULTILINE) == SITE["upstreams"], upstream
    assert "listen 8080;" in text and "root /srv/chat;" in text
    assert "${" not in text


def test_the_template_uses_exactly_the_variables_the_renderer_and_compose_fill_in():
    used = set(re.findall(r"\$\{([A-Z_]+)\}", TEMPLATE.read_text()))
    assert used == set(VARIABLES)


@pytest.mark.parametrize("change, message", [
    ({"upstreams": []}, "at least one upstream"),
    ({"upstreams": ["127.0.0.1"]}, "is not host:port"),
    ({"upstreams": ["web:8000; evil"]}, "is not host:port"),
    ({"listen": "eighty"}, "is not a port"),
    ({"static_root": "srv/chat"}, "must be an absolute path"),
])
def test_bad_values_are_refused_saying_why(change, message):
    with pytest.raises(RenderError, match=message):
        render_site(**{**SITE, **change})


def test_a_template_variable_the_renderer_does_not_know_is_refused():
    template = TEMPLATE.read_text() + "\n# ${CHAT_SOMETHING_NEW}\n"
    with pytest.raises(RenderError, match="CHAT_SOMETHING_NEW"):
        render_site(**SITE, template=template)


def test_the_command_line_refuses_bad_values_with_a_message():
    done = subprocess.run([sys.executable, "-m", "deploy.nginx.render", "--upstream", "nowhere",
                           "--listen", "8080", "--static-root", "/srv"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "upstream 'nowhere' is not host:port" in done.stderr


def test_nginx_accepts_the_configuration(tmp_path):
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed: apt-get install nginx (bin/test does, as root on Debian)")
    config = tmp_path / "nginx.conf"
    config.write_text(render_standalone(workdir=tmp_path, **SITE))
    done = subprocess.run([binary, "-t", "-p", str(tmp_path), "-c", str(config)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_nginx_takes_a_larger_body_than_the_app_so_the_apps_413_is_what_clients_see():
    size = re.search(r"client_max_body_size (\d+)m;", TEMPLATE.read_text())
    assert size and int(size[1]) * 1024 * 1024 > settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def test_answers_get_long_timeouts_and_sse_is_not_buffered():
    text = TEMPLATE.read_text()
    sse = re.search(r"location ~ \^/api/conversations/\[\^/\]\+/messages/\$ \{(.*?)\}", text, re.DOTALL)[1]
    sockets = re.search(r"location /ws/ \{(.*?)\}", text, re.DOTALL)[1]
    assert "proxy_buffering off;" in sse and "proxy_read_timeout 1h;" in sse
    assert "proxy_read_timeout 1h;" in sockets
    # Long requests go to the upstream without failure accounting (see the template).
    assert "proxy_pass http://chat_daphne_streams;" in sse and "proxy_pass http://chat_daphne_streams;" in sockets
