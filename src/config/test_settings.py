"""Test overrides: a dev key, fast answers, no start-up recovery scan."""
import os

os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key")
os.environ.setdefault("LLM_PROVIDER", "demo")
os.environ.setdefault("LLM_DEMO_DELAY", "0")
os.environ.setdefault("CHAT_RATE_LIMIT", "1000/m")
os.environ.setdefault("CHAT_RECOVER_ON_START", "0")
# The async ORM thread outlives each test; a kept connection would block dropping the test
# database. (The multi-process tests run the deployed settings, kept connections included.)
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")
# Tests call chat.recovery.reap() themselves; a background task would outlive their loop.
os.environ.setdefault("CHAT_REAP_INTERVAL", "0")
# A title request is a second upstream request after a new chat's first answer: the tests
# of titles (chat/tests/test_titles.py) turn it on; others see one request per answer.
os.environ.setdefault("CHAT_TITLES_BY_MODEL", "0")
# Test sockets are not always disconnected; the cap has tests of its own.
os.environ.setdefault("CHAT_MAX_SOCKETS_PER_USER", "100000")
# Usage is written on the next loop turn after an answer ends, while the test's loop lives.
os.environ.setdefault("USAGE_FLUSH_INTERVAL", "0")

from config.settings import *  # noqa: E402,F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]

# One test database per checkout: several clones (or worktrees) on one machine run their
# suites at once without dropping each other's database.
_checkout = __import__("hashlib").sha1(str(BASE_DIR).encode()).hexdigest()[:8]  # noqa: F405
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"].setdefault("TEST", {})["NAME"] = f"test_chat_{_checkout}"  # noqa: F405
else:
    # A file, as in production, not Django's shared-cache in-memory database: there a writer
    # meeting another connection's lock fails at once ("database table is locked") instead of
    # waiting its turn (WAL and the busy timeout apply to files only), and answers, requests
    # and the test itself each use a connection of their own.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = str(  # noqa: F405
        __import__("pathlib").Path(__import__("tempfile").gettempdir()) / f"test_chat_{_checkout}.sqlite3")
