"""Is the session behind a long-lived socket still logged in?"""
from importlib import import_module
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import (BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user, get_user_model,
                                 load_backend)
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.exceptions import ValidationError
from django.db.models import Subquery
from django.utils import timezone
from django.utils.crypto import constant_time_compare


def session_user_id(session_key: str | None, expected=None):
    """The id of the user a session key is logged in as now, or None (logged out, expired).

    `expected`: the id the caller takes it for (a socket's user). Then the session and the
    user are read in one statement, where Django's own check (get_user) reads them in two:
    every frame of a socket is checked, and under load each statement waits its turn on
    the ORM thread. Only a plain match is settled so; anything else (a session of another
    user, a password changed, a backend of its own) goes Django's own way, which may also
    flush the session.
    """
    if not session_key:
        return None
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    if expected is not None and _matches(store, expected):
        return expected
    # get_user() also checks the session hash, so a password change logs sockets out too.
    user = get_user(SimpleNamespace(session=store))
    return user.pk if user.is_authenticated else None


def _matches(store, expected) -> bool:
    """Whether get_user() would find the session logged in as `expected`, with no change to
    the session: read in one statement; False sends the caller Django's own way."""
    if type(store).load is not DatabaseSessionStore.load or store.session_key is None:
        return False
    user_model = get_user_model()
    sessions = store.model.objects.filter(session_key=store.session_key, expire_date__gt=timezone.now())
    user = (user_model._default_manager.filter(pk=expected)
            .annotate(session_data=Subquery(sessions.values("session_data")[:1])).first())
    if user is None or user.session_data is None:
        return False
    session = store.decode(user.session_data)
    try:
        if user_model._meta.pk.to_python(session[SESSION_KEY]) != user.pk:
            return False
        backend_path = session[BACKEND_SESSION_KEY]
    except (KeyError, ValidationError):
        return False
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return False
    backend = load_backend(backend_path)
    if type(backend).get_user is not ModelBackend.get_user or not backend.user_can_authenticate(user):
        return False
    session_hash = session.get(HASH_SESSION_KEY)
    return bool(session_hash) and constant_time_compare(session_hash, user.get_session_auth_hash())
