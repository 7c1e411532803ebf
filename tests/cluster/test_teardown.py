"""`scripts/cluster down` gives the host back as it was before `up` (runs last: file order)."""
from cluster_lib import cluster, leftovers


def test_down_leaves_nothing_behind(node):
    res = cluster("down", timeout=300)
    assert "down: done" in res.stdout, res.stdout + res.stderr
    assert leftovers(node) == []
    assert cluster("status", check=False).returncode != 0
