"""Deployment files, checked without a Docker engine.

docker-compose.yml is validated against the official Compose Specification schema
(compose-spec/compose-spec, schema/compose-spec.json, stored next to this file) and for
what this app needs; the Dockerfile's COPY sources must exist and its pdm pins must be
bin/_setup.sh's.
"""
import json
import re
import shlex
from pathlib import Path

import jsonschema
import pytest
import yaml

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


def test_compose_has_web_db_redis_with_healthchecks(compose):
    services = compose["services"]
    assert set(services) >= {"web", "db", "redis"}
    for name in ("web", "db", "redis"):
        test = services[name]["healthcheck"]["test"]
        assert test and test[0] in ("CMD", "CMD-SHELL"), name
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"][1:] == ["redis-cli", "ping"]
    assert services["db"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")


def test_db_keeps_its_data_in_a_named_volume(compose):
    mounts = compose["services"]["db"]["volumes"]
    named = [m.split(":", 1)[0] for m in mounts if m.endswith(":/var/lib/postgresql/data")]
    assert named and named[0] in compose["volumes"]


def test_web_waits_for_healthy_db_and_redis(compose):
    web = compose["services"]["web"]
    assert web["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert web["build"] in (".", {"context": "."}) or web["build"].get("context") == "."
    assert any(str(port).endswith(":8000") for port in web["ports"])


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
    assert froms[-1].startswith("python:3.11-slim")
    runs = " ".join(args for op, args in steps if op == "RUN")
    assert "npm ci" in runs and "npm run build" in runs
    assert "--frozen-lockfile" in runs or "pdm export" in runs
    users = [args for op, args in steps if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    command = " ".join(json.loads(next(args for op, args in reversed(steps) if op == "CMD")))
    assert "manage.py migrate --noinput" in command
    assert "daphne -b 0.0.0.0 -p 8000 config.asgi:application" in command
    assert command.index("migrate") < command.index("daphne")


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
