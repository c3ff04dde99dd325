"""Session cookies of the two users the chat tests play (the socket and SSE tests log in
through the session middleware, as a browser does)."""
import pytest


@pytest.fixture
def alice(user, session_cookie):
    return session_cookie(user)


@pytest.fixture
def bob(other_user, session_cookie):
    return session_cookie(other_user)
