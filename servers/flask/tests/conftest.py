import os
import sys
import tempfile
from pathlib import Path

# The metrics directory must exist before prometheus_client loads.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="refserver-test-metrics-")
