"""Settings, read from the environment (names as cookiecutter-django uses them).

Every variable and its default is listed in docs/settings.md; the wire contract's
table is the source of truth for the ones it names.
"""
import ipaddress
import json
import os
import socket
import warnings
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from llm.base import LLMConfig  # the LLM_* defaults (llm.base loads no LangChain)
from llm.catalogue import parse_models

SRC_DIR = Path(__file__).resolve().parent.parent
BASE_DIR = SRC_DIR.parent

env = environ.Env()

# --- Core ------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it, or set DJANGO_DEBUG=1 for a dev key."
        )
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",  # trigram indexes for search (chat migration 0002)
    "channels",
    "ninja",  # /api/docs then loads Swagger UI from our static files, not a CDN
    "accounts",
    "chat",
    "serving",
    "sharing",
    "folders",
    "feedback",
    "metrics",
    "usage",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.api_method_not_allowed_as_json",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SRC_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ----------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Async ORM calls share one thread per process, which keeps its connection: connecting
# afresh for every call was half of that thread's time under load (PostgreSQL). Health
# checks replace a connection the server dropped before it is used.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=300)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.int("DATABASE_POOL_SIZE", default=20):
    # PostgreSQL: a pool (psycopg_pool) instead, since kept connections belong to a thread
    # and each HTTP request (SSE included) runs its sync work on a thread of its own, which
    # connected afresh. Connections return to the pool after each call, except on the thread
    # that runs the ORM calls of sockets and answers, which keeps its own (serving.connections).
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django refuses kept connections with a pool
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2, "max_size": env.int("DATABASE_POOL_SIZE", default=20), "timeout": 10,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers (admin, API) run while an answer saves its partial text.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    # Writers take the lock when their transaction begins: a read-then-write transaction
    # (the per-user answer cap) then waits its turn instead of failing with "locked".
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer and cross-process stream state ----------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chat.layers.ReliableRedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                # Room for bursts; a channel over capacity loses frames, which clients see
                # as a gap in seq and repair with conversation.sync.
                "capacity": env.int("CHANNEL_CAPACITY", default=1000),
                "expiry": 60,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": env.int("CHANNEL_CAPACITY", default=1000), "expiry": 60},
        }
    }

# Prefix of the Redis keys holding live answers and rate-limit counters.
CHAT_REDIS_PREFIX = env("CHAT_REDIS_PREFIX", default="chat")

# --- Auth ----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# --- I18N, static ------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
# Always listed, so a client built after start-up is served; created so Django doesn't warn.
FRONTEND_DIST.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [FRONTEND_DIST]
# Serve straight from the finders so `daphne` works without a collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# Vite names built assets name-<8-character hash>.ext: their content never changes, cache
# them for good. (The build writes .br and .gz next to each; WhiteNoise picks by
# Accept-Encoding.)
WHITENOISE_IMMUTABLE_FILE_TEST = r"^/static/assets/.+-[A-Za-z0-9_-]{8}\.[a-z0-9]+$"
# Built assets are served from STATICFILES_DIRS through the finders; STATIC_ROOT only
# exists after collectstatic (the Docker image runs it), so don't warn when it's absent.
warnings.filterwarnings("ignore", message=f"No directory at: {STATIC_ROOT}")
# Vite's dev server (hot reload) when set, e.g. http://localhost:5173; else the built manifest.
VITE_DEV_SERVER = env("DJANGO_VITE_DEV_SERVER", default="")

# --- LLM -------------------------------------------------------------------------
LLM_API_KEY = env("LLM_API_KEY", default="") or env("OPENAI_API_KEY", default="")
LLM_PROVIDER = env("LLM_PROVIDER", default="openai" if LLM_API_KEY else "demo")
LLM_MODEL = env("LLM_MODEL", default="") or None
LLM_BASE_URL = env("LLM_BASE_URL", default="") or env("OPENAI_BASE_URL", default="") or None
try:
    LLM_EXTRA_BODY = json.loads(env("LLM_EXTRA_BODY", default="") or "null")
except json.JSONDecodeError as exc:
    raise ImproperlyConfigured(f"LLM_EXTRA_BODY is not valid JSON: {exc}") from exc
if LLM_EXTRA_BODY is not None and not isinstance(LLM_EXTRA_BODY, dict):
    raise ImproperlyConfigured("LLM_EXTRA_BODY must be a JSON object.")
# The models users may pick (llm.catalogue): a JSON list of {id?, label, provider, model?,
# base_url?, api_key?, extra_body?}; unset, the LLM_* settings above are the one model
# (with the demo provider: two demo models).
try:
    LLM_MODELS = parse_models(env("LLM_MODELS", default=""))
except ValueError as exc:
    raise ImproperlyConfigured(f"LLM_MODELS: {exc}") from exc
LLM_TIMEOUT = env.float("LLM_TIMEOUT", default=LLMConfig.timeout)
LLM_MAX_RETRIES = env.int("LLM_MAX_RETRIES", default=LLMConfig.max_retries)
# An upstream that accepts and then says nothing fails after these, retries included.
LLM_FIRST_TOKEN_TIMEOUT = env.float("LLM_FIRST_TOKEN_TIMEOUT", default=LLMConfig.first_token_timeout)
LLM_IDLE_TIMEOUT = env.float("LLM_IDLE_TIMEOUT", default=LLMConfig.idle_timeout)
LLM_DEMO_DELAY = env.float("LLM_DEMO_DELAY", default=LLMConfig.demo_delay)
# The model's context window in tokens, and the part of it kept free for the answer: the
# oldest turns are left out of a request past the difference (chat.selectors.answer_context).
LLM_CONTEXT_TOKENS = env.int("LLM_CONTEXT_TOKENS", default=32000)
LLM_OUTPUT_RESERVE = env.int("LLM_OUTPUT_RESERVE", default=4096)
if not 0 <= LLM_OUTPUT_RESERVE < LLM_CONTEXT_TOKENS:
    raise ImproperlyConfigured("LLM_OUTPUT_RESERVE must be at least 0 and below LLM_CONTEXT_TOKENS.")

# --- Chat ---------------------------------------------------------------------------
CHAT_SYSTEM_PROMPT = env("CHAT_SYSTEM_PROMPT", default="")
# Seconds the model may take to title a new conversation (chat.titles); past it the
# first-message title stays.
CHAT_TITLE_TIMEOUT = env.float("CHAT_TITLE_TIMEOUT", default=20.0)
# Ask the model for a title after a new conversation's first answer (chat.titles).
CHAT_TITLES_BY_MODEL = env.bool("CHAT_TITLES_BY_MODEL", default=True)
CHAT_RATE_LIMIT = env("CHAT_RATE_LIMIT", default="20/m")
if not __import__("re").fullmatch(r"\s*\d+\s*/\s*[smh]\s*", CHAT_RATE_LIMIT):
    raise ImproperlyConfigured(f"CHAT_RATE_LIMIT must look like 20/m (N/s, N/m or N/h), not {CHAT_RATE_LIMIT!r}")
CHAT_MAX_MESSAGE_CHARS = env.int("CHAT_MAX_MESSAGE_CHARS", default=32000)
# Imports (sharing): the largest upload, and the most a zip may unpack to (zip bombs).
CHAT_IMPORT_MAX_BYTES = env.int("CHAT_IMPORT_MAX_BYTES", default=50 * 1024 * 1024)
CHAT_IMPORT_MAX_UNPACKED = env.int("CHAT_IMPORT_MAX_UNPACKED", default=200 * 1024 * 1024)
# Share links open for anyone with the link, not only logged-in users of this instance.
CHAT_PUBLIC_SHARES = env.bool("CHAT_PUBLIC_SHARES", default=False)
# What one user can take of the server: answers streaming at once (over every process;
# more are refused with `too_many_answers`) and sockets open on one process (more are
# closed with 4029), so one user's fan-out cannot starve everyone else's.
CHAT_MAX_ANSWERS_PER_USER = env.int("CHAT_MAX_ANSWERS_PER_USER", default=3)
CHAT_MAX_SOCKETS_PER_USER = env.int("CHAT_MAX_SOCKETS_PER_USER", default=20)
# Bytes the server holds for one socket whose client stopped reading; past it the connection
# is dropped (the client reconnects and gets a snapshot), so memory stays bounded.
CHAT_SOCKET_BUFFER_BYTES = env.int("CHAT_SOCKET_BUFFER_BYTES", default=8 * 1024 * 1024)
# Longest wait between an upstream token and the frame carrying it (coalescing window): one
# display frame, so a browser never gets more frames than it can show, and no token waits
# longer than one. A token after a quiet spell goes at once.
CHAT_FRAME_INTERVAL = env.float("CHAT_FRAME_INTERVAL", default=0.016)
# How often a streaming answer's partial text is written to the database (at most).
CHAT_SAVE_INTERVAL = env.float("CHAT_SAVE_INTERVAL", default=1.0)
# A streaming answer whose heartbeat is older than this is taken as orphaned (process died).
CHAT_STALE_AFTER = env.float("CHAT_STALE_AFTER", default=6.0)
# Mark orphaned answers `interrupted` when the ASGI application starts.
CHAT_RECOVER_ON_START = env.bool("CHAT_RECOVER_ON_START", default=True)
# With Redis, every process looks this often for answers whose process died and tells
# their listeners (see chat.recovery); 0 turns the reaper off.
CHAT_REAP_INTERVAL = env.float("CHAT_REAP_INTERVAL", default=1.0)

# --- Serving: processes behind a proxy ----------------------------------------------
# How a process is told apart in log lines and /readyz: the container's hostname (compose
# replicas each have their own) and the process id, unless set.
CHAT_PROCESS_NAME = env("CHAT_PROCESS_NAME", default="") or f"{socket.gethostname()}:{os.getpid()}"
# On SIGTERM a process lets its running answers finish for up to this many seconds, then
# stores what is left `interrupted` and exits (serving.drain).
CHAT_DRAIN_SECONDS = env.float("CHAT_DRAIN_SECONDS", default=30.0)
if CHAT_DRAIN_SECONDS < 0:
    raise ImproperlyConfigured("CHAT_DRAIN_SECONDS must be 0 or more.")
# Peers whose X-Forwarded-For / X-Real-IP / X-Forwarded-Proto are believed (IP addresses or
# CIDR networks): the proxy in front. Anyone else's are ignored (serving.proxy).
try:
    TRUSTED_PROXIES = [ipaddress.ip_network(peer, strict=False)
                       for peer in env.list("DJANGO_TRUSTED_PROXIES", default=[])]
except ValueError as exc:
    raise ImproperlyConfigured(f"DJANGO_TRUSTED_PROXIES must list IP addresses or networks: {exc}") from exc

# --- Metrics -------------------------------------------------------------------------
# /metrics (Prometheus text format, per process: docs/metrics.md). Off: no page, no counting.
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=True)
# When set, /metrics wants `Authorization: Bearer <token>`; when empty it answers only
# direct loopback requests (not through a proxy).
METRICS_TOKEN = env("METRICS_TOKEN", default="")

# --- Usage and cost -----------------------------------------------------------------
# Answers' tokens are written for all answers of a process at most this often (seconds).
USAGE_FLUSH_INTERVAL = env.float("USAGE_FLUSH_INTERVAL", default=1.0)
# What the prices per million tokens (admin: Model prices) are in; shown with costs.
USAGE_CURRENCY = env("USAGE_CURRENCY", default="USD")
# Default budgets per user (0: no limit); per-user and per-group overrides in the admin.
# Days and months are UTC. Over budget, a send is refused with `quota_exceeded`.
QUOTA_DAILY_MESSAGES = env.int("QUOTA_DAILY_MESSAGES", default=0)
QUOTA_MONTHLY_MESSAGES = env.int("QUOTA_MONTHLY_MESSAGES", default=0)
QUOTA_DAILY_TOKENS = env.int("QUOTA_DAILY_TOKENS", default=0)
QUOTA_MONTHLY_TOKENS = env.int("QUOTA_MONTHLY_TOKENS", default=0)

# --- Logging -------------------------------------------------------------------------
# `plain` (one line of text per record) or `json` (one JSON object per line: time, level,
# logger, process, message, and exception when there is one).
LOG_FORMAT = env("DJANGO_LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"DJANGO_LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "format": f"%(asctime)s %(levelname)s [{CHAT_PROCESS_NAME.replace('%', '%%')}] %(name)s: %(message)s",
        },
        "json": {"()": "serving.logs.JsonFormatter", "process_name": CHAT_PROCESS_NAME},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}
