"""Fault-injection tests: one PostgreSQL cluster per session (a migrated template database, copied per
scenario) and one Mosquitto per scenario, all started here.

The quick scenarios run with the ordinary suite (`make test`); the slow ones are marked `faults` and are
deselected unless the mark expression names them: `make faults` runs everything.
"""

import re
import shutil
import tempfile
from pathlib import Path

import pytest

from worksafe.monitoring.tests.faults.harness import Cluster, Scenario, Volume


def pytest_collection_modifyitems(config, items):
    if re.search(r"\bfaults\b", config.getoption("markexpr") or ""):
        return
    slow = [i for i in items if i.get_closest_marker("faults")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [i for i in items if not i.get_closest_marker("faults")]


@pytest.fixture(scope="session")
def cluster():
    for tool in ("mosquitto", "initdb", "pg_ctl", "runuser"):
        if not shutil.which(tool) and not Path("/usr/lib/postgresql/15/bin", tool).exists():
            pytest.fail(f"the fault tests need `{tool}` (PostgreSQL server and Mosquitto packages)")
    base = Path(tempfile.mkdtemp(prefix="worksafe-faults-"))
    base.chmod(0o755)  # PostgreSQL and Mosquitto run as their own users below it
    c = Cluster(base)
    try:
        c.setup()
        yield c
    finally:
        c.teardown()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def scenario_factory(cluster, request):
    made = []

    def make(**options) -> Scenario:
        base = cluster.base / f"{request.node.name[:60]}-{len(made)}".replace("[", "-").replace("]", "")
        base.mkdir()
        s = Scenario(cluster, base, **options)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


@pytest.fixture
def scenario(scenario_factory) -> Scenario:
    return scenario_factory()


@pytest.fixture
def disk_full_scenario(cluster):
    """F9: a scenario on its own PostgreSQL cluster whose data directory (WAL included) lies on a size-capped
    tmpfs, so that it can be filled up without touching the session cluster. Skipped at run time when this
    machine cannot mount a tmpfs. The volume is unmounted whatever happens."""
    base = cluster.base / "f9-disk-full"
    base.mkdir()
    volume = Volume(base / "volume", size_mb=128)
    why = volume.mount()
    if why:
        pytest.skip(f"F9 needs a size-capped tmpfs for the PostgreSQL volume: {why}")
    own = Cluster(base / "cluster", data=volume.path / "pgdata")
    s = None
    try:
        own.setup()
        (base / "scenario").mkdir()
        s = Scenario(own, base / "scenario")
        yield s, volume
    finally:
        if s is not None:
            s.close()
        own.teardown()
        volume.release()
        volume.unmount()
