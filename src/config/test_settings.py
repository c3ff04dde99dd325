"""Test overrides: a dev key, fast answers, no start-up recovery scan."""
import os

os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key")
os.environ.setdefault("LLM_PROVIDER", "demo")
os.environ.setdefault("LLM_DEMO_DELAY", "0")
os.environ.setdefault("CHAT_RATE_LIMIT", "1000/m")
os.environ.setdefault("CHAT_RECOVER_ON_START", "0")

from config.settings import *  # noqa: E402,F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
