import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import launch  # noqa: E402

MACHINE_ID = 7


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Fresh servers, all seven, on loopback ports for one test module."""
    log_dir = tmp_path_factory.mktemp("logs")
    with launch.running(env={"MACHINE_ID": str(MACHINE_ID)}, log_dir=str(log_dir)) as running:
        yield running
