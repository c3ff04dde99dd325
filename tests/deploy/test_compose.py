"""Deployment files, checked without a Docker engine.

docker-compose.yml is validated against the official Compose Specification schema
(compose-spec/compose-spec, schema/compose-spec.json, stored next to this file) and for
what this app needs: nginx in front of several Daphne processes, migrations once, readiness
health checks, a stop grace longer than the drain. The Dockerfile's COPY sources must exist
and its pdm pins must be bin/_setup.sh's. The same topology runs for real, without Docker, in
tests/e2e/test_proxy.py and test_drain.py.
"""
import json
import re
import shlex
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from django.conf import settings

from deploy.nginx.render import VARIABLES
from serving.drain import RESPONSES_GRACE

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

# The contract's settings table (docs/protocol.md, docs/settings.md).
CONTRACT_SETTINGS = {
    "DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL",
    "LLM_PROVIDER", "LLM_MODEL", "LLM_BASE_URL", "LLM_API_KEY", "LLM_EXTRA_BODY",
    "CHAT_SYSTEM_PROMPT", "CHAT_RATE_LIMIT", "CHAT_MAX_MESSAGE_CHARS",
}
# Fallbacks the contract names in the same table.
CONTRACT_FALLBACKS = {"OPENAI_API_KEY", "OPENAI_BASE_URL"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def environment(service: dict) -> dict[str, str | None]:
    """A service's environment as a dict; a bare name (passed through) maps to None."""
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return dict(env)
    return {item.split("=", 1)[0]: (item.split("=", 1)[1] if "=" in item else None) for item in env}


# --- docker-compose.yml ----------------------------------------------------------------------
def test_compose_file_matches_the_compose_specification(compose):
    schema = json.loads((HERE / "compose-spec.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_compose_has_nginx_web_db_redis_with_healthchecks(compose):
    services = compose["services"]
    assert set(services) >= {"nginx", "web", "migrate", "db", "redis"}
    for name in ("nginx", "web", "db", "redis"):
        test = services[name]["healthcheck"]["test"]
        assert test and test[0] in ("CMD", "CMD-SHELL"), name
    # Ready, not only alive: a draining process is not healthy (serving/health.py).
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    assert "/healthz" in " ".join(services["nginx"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"][1:] == ["redis-cli", "ping"]
    assert services["db"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")


def test_db_keeps_its_data_in_a_named_volume(compose):
    mounts = compose["services"]["db"]["volumes"]
    named = [m.split(":", 1)[0] for m in mounts if m.endswith(":/var/lib/postgresql/data")]
    assert named and named[0] in compose["volumes"]


def test_migrations_run_once_before_any_web_process(compose):
    web, migrate = compose["services"]["web"], compose["services"]["migrate"]
    assert web["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert migrate["depends_on"]["db"] == {"condition": "service_healthy"}
    assert migrate["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert migrate["restart"] == "no"
    assert "migrate" not in " ".join(web["command"])  # not once per process
    for name in ("web", "migrate"):  # one image for both
        assert compose["services"][name]["build"] == "." and compose["services"][name]["image"] == "chat-app"


def test_several_daphne_processes_behind_nginx(compose):
    web, nginx = compose["services"]["web"], compose["services"]["nginx"]
    assert web["command"] == ["daphne", "-b", "0.0.0.0", "-p", "8000", "config.asgi:application"]
    assert web["deploy"]["replicas"] == "${WEB_PROCESSES:-2}"
    assert "ports" not in web and "container_name" not in web  # only nginx is published
    assert nginx["ports"] == ["${PORT:-8000}:80"]
    assert nginx["build"] == {"context": ".", "target": "proxy"}
    assert nginx["depends_on"] == {"web": {"condition": "service_healthy"}}
    env = environment(nginx)
    assert set(env) == set(VARIABLES)  # deploy/nginx/chat.conf.template's, all of them
    assert env["CHAT_UPSTREAM"] == "web:8000" and env["CHAT_LISTEN"] == "80"


def test_a_stopping_process_has_time_to_drain(compose):
    web = compose["services"]["web"]
    drain = int(re.fullmatch(r"\$\{CHAT_DRAIN_SECONDS:-(\d+)\}", environment(web)["CHAT_DRAIN_SECONDS"])[1])
    assert drain == settings.CHAT_DRAIN_SECONDS  # the app's default, restated
    grace = int(web["stop_grace_period"].removesuffix("s"))
    # Past the drain: storing what is left, responses ending; serving.drain stops the process
    # by then whatever happens, before docker's SIGKILL.
    assert grace >= drain + 3 * RESPONSES_GRACE
    script = (ROOT / "deploy" / "rolling-restart.sh").read_text()
    assert f'GRACE="${{STOP_GRACE:-{grace}}}"' in script


def test_the_rolling_restart_script_parses_and_names_the_services(compose):
    script = ROOT / "deploy" / "rolling-restart.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    text = script.read_text()
    for service in ("web", "nginx", "migrate"):
        assert service in compose["services"] and f" {service}" in text


def test_web_environment_uses_the_contract_names(compose):
    env = environment(compose["services"]["web"])
    assert env["DJANGO_SECRET_KEY"] == "${DJANGO_SECRET_KEY:?set DJANGO_SECRET_KEY}"
    assert env["DATABASE_URL"].startswith("postgres://") and "@db:5432/" in env["DATABASE_URL"]
    assert env["REDIS_URL"].startswith("redis://redis:6379")
    assert "DJANGO_ALLOWED_HOSTS" in env
    for name in ("LLM_PROVIDER", "LLM_MODEL", "LLM_BASE_URL", "LLM_API_KEY", "LLM_EXTRA_BODY"):
        assert name in env and env[name] is None, f"{name} should be passed through as is"
    settings_source = (ROOT / "src" / "config" / "settings.py").read_text()
    for name in env:
        assert name in CONTRACT_SETTINGS | CONTRACT_FALLBACKS or f'"{name}"' in settings_source, (
            f"{name} is neither in the contract's settings table nor read by config/settings.py"
        )


def test_db_credentials_match_the_web_database_url(compose):
    db = environment(compose["services"]["db"])
    url = environment(compose["services"]["web"])["DATABASE_URL"]
    user, password_db = url.removeprefix("postgres://").split("@", 1)
    assert user.split(":", 1) == [db["POSTGRES_USER"], db["POSTGRES_PASSWORD"]]
    assert password_db.rsplit("/", 1)[1] == db["POSTGRES_DB"]


# --- Dockerfile -------------------------------------------------------------------------------
def instructions(dockerfile: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", dockerfile)
    lines = [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_dockerfile_copy_sources_exist(dockerfile):
    copies = [args for op, args in instructions(dockerfile) if op == "COPY" and not args.startswith("--from")]
    assert copies
    for args in copies:
        *sources, _destination = shlex.split(args)
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"


def test_dockerfile_stages_user_and_command(dockerfile):
    steps = instructions(dockerfile)
    froms = [args for op, args in steps if op == "FROM"]
    assert froms[0].startswith("node:20") and "AS" in froms[0].upper()
    stages = {args.split()[-1]: args.split()[0] for args in froms if " AS " in args.upper()}
    assert froms[-1] == "app" and stages["app"].startswith("python:3.11-slim")  # the default target
    runs = " ".join(args for op, args in steps if op == "RUN")
    assert "npm ci" in runs and "npm run build" in runs
    assert "--frozen-lockfile" in runs or "pdm export" in runs
    users = [args for op, args in steps if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    command = " ".join(json.loads(next(args for op, args in reversed(steps) if op == "CMD")))
    assert "manage.py migrate --noinput" in command
    assert "daphne -b 0.0.0.0 -p 8000 config.asgi:application" in command
    assert command.index("migrate") < command.index("daphne")


def test_the_proxy_image_has_the_template_and_the_collected_static_files(compose, dockerfile):
    steps = instructions(dockerfile)
    proxy = steps[next(n for n, (op, args) in enumerate(steps) if op == "FROM" and args.endswith(" AS proxy")):]
    proxy = proxy[:next(n for n, (op, _) in enumerate(proxy[1:], 1) if op == "FROM")]
    copies = [args for op, args in proxy if op == "COPY"]
    assert "deploy/nginx/chat.conf.template /etc/nginx/templates/chat.conf.template" in copies
    assert "deploy/nginx/nginx.conf /etc/nginx/nginx.conf" in copies
    static_root = environment(compose["services"]["nginx"])["CHAT_STATIC_ROOT"]
    assert f"--from=app /app/staticfiles {static_root}/static" in copies


def test_dockerfile_pins_pdm_as_bin_setup_does(dockerfile):
    pins = re.compile(r'"(pdm==[^"]+)"\s+"(unearth[^"]+)"\s+"(hishel[^"]+)"')
    setup = pins.search((ROOT / "bin" / "_setup.sh").read_text())
    image = pins.search(dockerfile)
    assert setup and image
    assert image.groups() == setup.groups()


def test_dockerignore_keeps_local_state_out(dockerfile):
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", ".env", "frontend/node_modules"} <= ignored
    for op, args in instructions(dockerfile):
        if op == "COPY" and not args.startswith("--from"):
            for source in shlex.split(args)[:-1]:
                assert source.rstrip("/") not in ignored, f"COPY {source} is excluded by .dockerignore"
