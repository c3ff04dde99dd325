"""The session check of a socket's frames: one statement when the session is plainly the
socket's user's, and Django's own answer in every case (accounts.sessions)."""
from datetime import timedelta

import pytest
from django.contrib.auth import get_user
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.sessions import riding, session_user_id

pytestmark = pytest.mark.django_db


def logged_in(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def django_says(key):
    """What Django's own check says, for comparison."""
    from importlib import import_module
    from types import SimpleNamespace

    from django.conf import settings

    found = get_user(SimpleNamespace(session=import_module(settings.SESSION_ENGINE).SessionStore(key)))
    return found.pk if found.is_authenticated else None


def test_a_live_session_of_the_expected_user_takes_one_statement(user):
    key = logged_in(user)
    with CaptureQueriesContext(connection) as queries:
        assert session_user_id(key, expected=user.pk) == user.pk
    assert len(queries) == 1, [q["sql"] for q in queries]
    with CaptureQueriesContext(connection) as queries:
        assert session_user_id(key) == user.pk  # Django's own way: two
    assert len(queries) == 2


def test_every_session_that_is_not_plainly_the_users_gets_djangos_answer(user, other_user):
    live, logged_out, expired, changed, inactive = (logged_in(user) for _ in range(5))
    others = logged_in(other_user)
    Session.objects.filter(session_key=logged_out).delete()
    Session.objects.filter(session_key=expired).update(expire_date=timezone.now() - timedelta(seconds=1))
    cases = {"live": live, "logged out": logged_out, "expired": expired, "garbage": "x" * 32, "none": None,
             "another user's": others}
    said = {name: session_user_id(key, expected=user.pk) for name, key in cases.items()}
    assert said == {"live": user.pk, "logged out": None, "expired": None, "garbage": None, "none": None,
                    "another user's": other_user.pk}
    assert said == {name: django_says(key) if key else None for name, key in cases.items()}

    user.is_active = False
    user.save()
    assert session_user_id(inactive, expected=user.pk) is None
    user.is_active = True
    user.save()
    assert session_user_id(inactive, expected=user.pk) == user.pk
    user.set_password("a new password")  # logs every session of the user out
    user.save()
    assert session_user_id(changed, expected=user.pk) is None
    assert not Session.objects.filter(session_key=changed).exists()  # flushed, as Django does


def test_a_session_of_a_backend_not_configured_is_not_taken(user, settings):
    key = logged_in(user)
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.AllowAllUsersModelBackend"]
    assert session_user_id(key, expected=user.pk) is None
    assert django_says(key) is None


def _rides(key, user) -> bool | None:
    """Whether the check riding on another query settles `key` as `user`'s (None: it cannot ride)."""
    check = riding(key, user.pk)
    if check is None:
        return None
    row = type(user).objects.filter(pk=user.pk).annotate(**check.annotations).get()
    return check.settles(row)


def test_a_check_riding_on_another_query_settles_only_a_plain_match(user, other_user, settings):
    """One query carries it (the send's look: chat.sending); it says yes only where Django's
    own check would, and every other case goes Django's own way."""
    live, logged_out, expired, changed, inactive = (logged_in(user) for _ in range(5))
    Session.objects.filter(session_key=logged_out).delete()
    Session.objects.filter(session_key=expired).update(expire_date=timezone.now() - timedelta(seconds=1))
    with CaptureQueriesContext(connection) as queries:
        assert _rides(live, user) is True
    assert len(queries) == 1
    assert _rides(logged_out, user) is False and _rides(expired, user) is False
    assert _rides(logged_in(other_user), user) is False
    assert _rides("x" * 32, user) is False and _rides(None, user) is None
    user.is_active = False
    user.save()
    assert _rides(inactive, user) is False
    user.is_active = True
    user.save()
    user.set_password("a new password")
    user.save()
    assert _rides(changed, user) is False
    assert django_says(changed) is None
    live = logged_in(user)
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.AllowAllUsersModelBackend"]
    assert _rides(live, user) is False  # logged in through a backend not configured now
    assert _rides(logged_in(user), user) is True


def test_a_check_cannot_ride_with_another_session_engine(user, settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    assert riding("x" * 32, user.pk) is None
