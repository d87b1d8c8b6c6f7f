"""Notebook 06's live run on a machine without redis-server: benchmarks/harness.py's
`Workshop(redis=False)` measures the in-memory layer (here, redis-server hidden from PATH; about
5 seconds: step05 copied, migrated and seeded, a Uvicorn process)."""

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = {"sockets": [2], "messages": 2, "interval_s": 0.05}


@pytest.fixture
def no_redis_server(monkeypatch):
    """PATH without redis-server; the benchmarks importable."""
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))
    assert shutil.which("redis-server") is None
    for folder in ("benchmarks",):
        monkeypatch.syspath_prepend(str(ROOT / folder))


def test_without_redis_server_the_broadcast_benchmark_measures_the_in_memory_layer(
    no_redis_server,
):
    import broadcast

    setups = [broadcast.Setup("in-memory", "Uvicorn")]  # one server: make test runs the rest
    rows = broadcast.measure(TINY, setups)
    assert [(row["setup"], row["sockets"], row["frames"]) for row in rows] == [
        ("in-memory, Uvicorn", 2, 4)
    ]


def test_with_redis_asked_for_the_harness_refuses_to_start_without_it(no_redis_server):
    import harness

    with pytest.raises(SystemExit, match="needs redis-server"), harness.Workshop():
        pass
