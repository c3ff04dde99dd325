"""Fill in deploy/nginx/chat.conf.template outside the nginx image: the tests, the
benchmarks, a host install (in the image, envsubst does it from the environment).

    python -m deploy.nginx.render --upstream 127.0.0.1:8001 --upstream 127.0.0.1:8002 \\
        --listen 8080 --static-root /srv/chat [--standalone /var/tmp/chat-nginx]

prints the site's configuration (for conf.d/ of a system nginx), with the upstream's server
line once per --upstream; with --standalone DIR, a whole nginx.conf around it that keeps its
pid, logs and temporary files in DIR, for `nginx -c DIR/nginx.conf` run by any user.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).with_name("chat.conf.template")
VARIABLES = ("CHAT_UPSTREAM", "CHAT_LISTEN", "CHAT_STATIC_ROOT")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SERVER_LINE = re.compile(r"^\s*server\s+\$\{CHAT_UPSTREAM\}.*$", re.MULTILINE)
_ADDRESS = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$")
_LISTEN = re.compile(r"^((\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?\d{1,5}$")
MIME_TYPES = Path("/etc/nginx/mime.types")


class RenderError(ValueError):
    """The values given cannot make a working configuration."""


def render_site(*, upstreams: list[str], listen: str | int, static_root: str | Path,
                template: str | None = None) -> str:
    """The template filled in: one upstream server line per address, as envsubst would
    fill a single one; no other `${...}` may be left."""
    if not upstreams:
        raise RenderError("at least one upstream (host:port of a Daphne process) is needed")
    for address in upstreams:
        if not _ADDRESS.match(address):
            raise RenderError(f"upstream {address!r} is not host:port")
    if not _LISTEN.match(str(listen)):
        raise RenderError(f"listen {listen!r} is not a port or address:port")
    if not Path(static_root).is_absolute():
        raise RenderError(f"static root {static_root!r} must be an absolute path")
    text = TEMPLATE.read_text() if template is None else template
    server = _SERVER_LINE.search(text)
    if server is None:
        raise RenderError("the template has no `server ${CHAT_UPSTREAM} ...` line")
    text = _SERVER_LINE.sub(
        lambda m: "\n".join(m.group(0).replace("${CHAT_UPSTREAM}", address) for address in upstreams), text)
    values = {"CHAT_LISTEN": str(listen), "CHAT_STATIC_ROOT": str(static_root)}
    unknown = sorted({name for name in _PLACEHOLDER.findall(text) if name not in values})
    if unknown:
        raise RenderError(f"the template uses variables this renderer does not know: {', '.join(unknown)}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def render_standalone(*, workdir: str | Path, worker_processes: int = 1, **site) -> str:
    """A whole nginx.conf: the site inside http {}, everything nginx writes kept in `workdir`."""
    work = Path(workdir).resolve()
    if os.geteuid() == 0:
        import grp
        import pwd

        # Workers must read the checkout and write `workdir`, whoever owns them.
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};\n"
    else:
        user = ""  # an unprivileged nginx runs its workers as itself
    types = (f"include {MIME_TYPES};" if MIME_TYPES.exists() else
             "types { text/html html; text/css css; application/javascript js mjs; image/svg+xml svg; "
             "application/json json; image/png png; font/woff2 woff2; }")
    indented = "\n".join(f"    {line}" if line else "" for line in render_site(**site).splitlines())
    return f"""# Rendered by deploy/nginx/render.py --standalone: do not edit.
{user}worker_processes {worker_processes};
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log info;

events {{
    worker_connections 4096;
}}

http {{
    {types}
    default_type application/octet-stream;
    log_format upstream '$time_iso8601 $remote_addr "$request" $status $body_bytes_sent '
                        'upstream=$upstream_addr ($upstream_status) $request_time s';
    access_log {work}/access.log upstream;
    client_body_temp_path {work}/client_body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    sendfile on;

{indented}
}}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", action="append", required=True, help="host:port of a Daphne process (repeat)")
    parser.add_argument("--listen", required=True, help="port or address:port nginx listens on")
    parser.add_argument("--static-root", required=True, help="absolute directory holding static/")
    parser.add_argument("--standalone", metavar="DIR", help="print a whole nginx.conf keeping its files in DIR")
    args = parser.parse_args(argv)
    site = dict(upstreams=args.upstream, listen=args.listen, static_root=args.static_root)
    try:
        text = render_standalone(workdir=args.standalone, **site) if args.standalone else render_site(**site)
    except RenderError as exc:
        parser.error(str(exc))
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
