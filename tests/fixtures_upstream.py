"""Pytest fixtures for the fake OpenAI-compatible upstream.

Load with `pytest_plugins = ["tests.fixtures_upstream"]` in the root conftest, then::

    def test_something(upstream):
        upstream.enqueue(Scenario.words("Hello there", reasoning=["Hmm."]))
        ... point the app at upstream.base_url ...
        assert upstream.requests[0]["messages"][-1]["content"] == "hi"
"""

from collections.abc import Iterator

import pytest

from tests.fake_upstream import FakeUpstream, Scenario

__all__ = ["FakeUpstream", "Scenario", "fake_upstream", "upstream"]


@pytest.fixture(scope="session")
def fake_upstream() -> Iterator[FakeUpstream]:
    """One server for the whole session (started once, stopped at the end)."""
    server = FakeUpstream().start()
    yield server
    server.stop()


@pytest.fixture
def upstream(fake_upstream: FakeUpstream) -> Iterator[FakeUpstream]:
    """The session server, reset before and after each test."""
    fake_upstream.reset()
    yield fake_upstream
    fake_upstream.reset()
