"""Is the session behind a long-lived socket still logged in?"""
from importlib import import_module
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import get_user


def session_user_id(session_key: str | None):
    """The id of the user a session key is logged in as now, or None (logged out, expired)."""
    if not session_key:
        return None
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    # get_user() also checks the session hash, so a password change logs sockets out too.
    user = get_user(SimpleNamespace(session=store))
    return user.pk if user.is_authenticated else None
