"""Is the session behind a long-lived socket still logged in?"""
from importlib import import_module
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import (BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user, get_user_model,
                                 load_backend)
from django.contrib.auth.backends import AllowAllUsersModelBackend, ModelBackend
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
    user = _user(expected).annotate(session_data=_session_data(store)).first()
    return user is not None and _logged_in_as(store, user, user.session_data)


def _user(user_id):
    return get_user_model()._default_manager.filter(pk=user_id)


def _session_data(store) -> Subquery:
    """The stored data of the store's session while it has not expired (NULL otherwise)."""
    sessions = store.model.objects.filter(session_key=store.session_key, expire_date__gt=timezone.now())
    return Subquery(sessions.values("session_data")[:1])


def _logged_in_as(store, user, session_data: str | None, *, partial: bool = False) -> bool:
    """Whether the session (its stored data) is plainly logged in as `user`, for get_user()
    (`partial`: the user row holds only its pk, password and is_active)."""
    if session_data is None:
        return False
    session = store.decode(session_data)
    try:
        if get_user_model()._meta.pk.to_python(session[SESSION_KEY]) != user.pk:
            return False
        backend_path = session[BACKEND_SESSION_KEY]
    except (KeyError, ValidationError):
        return False
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return False
    backend = load_backend(backend_path)
    if type(backend).get_user is not ModelBackend.get_user:
        return False
    if partial and type(backend).user_can_authenticate not in _PLAIN_CAN_AUTHENTICATE:
        return False  # it may read more of the user than the row carried
    if not backend.user_can_authenticate(user):
        return False
    session_hash = session.get(HASH_SESSION_KEY)
    return bool(session_hash) and constant_time_compare(session_hash, user.get_session_auth_hash())


_PLAIN_CAN_AUTHENTICATE = (ModelBackend.user_can_authenticate, AllowAllUsersModelBackend.user_can_authenticate)


class Riding:
    """The session check of a socket's frame carried by another query the frame makes
    (chat.sending: the send's look at its conversation), so both take one round trip:
    `annotations` go on that query, and `settles(row)` says whether a row of it shows the
    session plainly logged in as the socket's user. Anything else (no row, a session of
    another user, ...) is for session_user_id() to settle, Django's way."""

    def __init__(self, store, expected):
        self.store, self.expected = store, expected
        user = _user(expected)
        self.annotations = {
            "riding_session": _session_data(store),
            "riding_password": Subquery(user.values("password")[:1]),
            "riding_active": Subquery(user.values("is_active")[:1]),
        }

    def settles(self, row) -> bool:
        if row.riding_password is None:
            return False  # no such user
        user = get_user_model()(pk=self.expected, password=row.riding_password, is_active=row.riding_active)
        return _logged_in_as(self.store, user, row.riding_session, partial=True)


def riding(session_key: str | None, expected) -> Riding | None:
    """A Riding check of `session_key` for the user `expected`, or None where it cannot
    ride (no key, a session engine other than the database's, a user model without
    is_active)."""
    if not session_key:
        return None
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    if type(store).load is not DatabaseSessionStore.load or store.session_key is None:
        return None
    fields = {f.name for f in get_user_model()._meta.concrete_fields}
    if not {"password", "is_active"} <= fields:
        return None
    return Riding(store, expected)
