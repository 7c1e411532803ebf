import pytest
from refcommon import master


@pytest.mark.parametrize(("value", "want"), [(None, True), ("", True), ("on", True), ("off", False)])
def test_request_metrics(monkeypatch, value, want):
    if value is None:
        monkeypatch.delenv("REQUEST_METRICS", raising=False)
    else:
        monkeypatch.setenv("REQUEST_METRICS", value)
    assert master.request_metrics() is want


@pytest.mark.parametrize("value", ["0", "false", "OFF", " off"])
def test_request_metrics_rejects(monkeypatch, value):
    monkeypatch.setenv("REQUEST_METRICS", value)
    with pytest.raises(ValueError, match="^REQUEST_METRICS must be on or off$"):
        master.request_metrics()
