"""Tags that put the Vite-built client on a page: from the manifest, or the dev server."""
import json
from functools import lru_cache

from django import template
from django.conf import settings
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

register = template.Library()

ENTRY = "src/main.tsx"
STYLESHEET = "src/index.css"  # imported by ENTRY


@lru_cache(maxsize=1)
def _manifest(mtime: float) -> dict:
    return json.loads((settings.FRONTEND_DIST / ".vite" / "manifest.json").read_text())


def manifest() -> dict | None:
    path = settings.FRONTEND_DIST / ".vite" / "manifest.json"
    if not path.exists():
        return None
    return _manifest(path.stat().st_mtime)


@register.simple_tag
def vite_css():
    """Stylesheets of the client's entry (also used by the account pages)."""
    dev = settings.VITE_DEV_SERVER.rstrip("/")
    if dev:
        # The app page gets CSS from JS; pages without the app (login, signup) link it.
        return format_html('<link rel="stylesheet" href="{}/static/{}">', dev, STYLESHEET)
    entry = (manifest() or {}).get(ENTRY)
    if not entry:
        return ""
    return format_html_join(
        "\n", '<link rel="stylesheet" href="{}{}">', ((settings.STATIC_URL, css) for css in entry.get("css", []))
    )


@register.simple_tag
def vite_js():
    """The client's entry script, or an explanation when it has not been built."""
    dev = settings.VITE_DEV_SERVER.rstrip("/")
    if dev:
        preamble = (
            f'<script type="module">import RefreshRuntime from "{dev}/static/@react-refresh";'
            "RefreshRuntime.injectIntoGlobalHook(window);window.$RefreshReg$ = () => {};"
            "window.$RefreshSig$ = () => (type) => type;window.__vite_plugin_react_preamble_installed__ = true;</script>"
        )
        return mark_safe(
            preamble
            + format_html('<script type="module" src="{}/static/@vite/client"></script>', dev)
            + format_html('<script type="module" src="{}/static/{}"></script>', dev, ENTRY)
        )
    entry = (manifest() or {}).get(ENTRY)
    if not entry:
        return mark_safe(
            '<p class="p-8">The web client is not built yet: run <code>npm --prefix frontend ci'
            " &amp;&amp; npm --prefix frontend run build</code> (the README's run command does it).</p>"
        )
    return format_html('<script type="module" src="{}{}"></script>', settings.STATIC_URL, entry["file"])
