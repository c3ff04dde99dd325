"""bin/ helpers: the PostgreSQL probe of bin/test, and what bin/run installs."""
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgres://postgres@127.0.0.1:5432"


def probe(url: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "bin/_pg_check.py"), url], capture_output=True, text=True, timeout=30)


def test_pg_probe_creates_a_missing_test_database_and_says_so():
    try:
        psycopg.connect(f"{SERVER}/postgres", connect_timeout=2).close()
    except psycopg.OperationalError:
        pytest.skip("PostgreSQL does not answer at 127.0.0.1:5432")
    name = f"probe_{uuid.uuid4().hex[:8]}"
    try:
        done = probe(f"{SERVER}/{name}")
        assert done.returncode == 0
        assert done.stdout.strip() == f"created the missing PostgreSQL database {name!r}"
        assert probe(f"{SERVER}/{name}").stdout == ""  # it exists now: nothing to say
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')


def test_pg_probe_says_when_nothing_answers():
    done = probe("postgres://postgres@127.0.0.1:9/test")  # discard port: nothing listens
    assert done.returncode == 1
    assert done.stdout.startswith("PostgreSQL not reachable at postgres://postgres@127.0.0.1:9/test:")
    assert "\n" not in done.stdout.strip()


def stub_checkout(tmp_path: Path) -> Path:
    """bin/_setup.sh, the lock files and a pdm that only logs its arguments."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin/_setup.sh").write_text((ROOT / "bin/_setup.sh").read_text())
    for name in ("pdm.lock", "pyproject.toml"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    pdm = tmp_path / ".tools/pdm/bin/pdm"
    pdm.parent.mkdir(parents=True)
    pdm.write_text('#!/bin/sh\necho "$*" >> "$(dirname "$0")/calls"\n')
    pdm.chmod(0o755)
    (tmp_path / ".venv").mkdir()
    return tmp_path


def python_deps(checkout: Path, *steps: str) -> tuple[str, list[str]]:
    script = "; ".join(f"python_deps {step}" for step in steps)
    done = subprocess.run(["bash", "-c", f"source bin/_setup.sh; {script}"], cwd=checkout, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    calls = (checkout / ".tools/pdm/bin/calls").read_text().splitlines()
    return done.stdout, [call for call in calls if call.startswith("install")]


def test_bin_run_installs_without_the_test_tools(tmp_path):
    out, installs = python_deps(stub_checkout(tmp_path), "prod", "prod")
    assert installs == ["install --frozen-lockfile --prod"]
    assert out.count("installing") == 1 and "without the test tools" in out


def test_switching_between_run_and_test_installs_once(tmp_path):
    out, installs = python_deps(stub_checkout(tmp_path), "test", "prod", "test", "prod")
    assert installs == ["install --frozen-lockfile -G test"]
    assert out.count("installing") == 1
    assert "python_deps prod" in (ROOT / "bin/run").read_text()
    assert "python_deps test" in (ROOT / "bin/test").read_text()
