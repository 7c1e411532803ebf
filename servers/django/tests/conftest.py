import os
import sys
import tempfile
from pathlib import Path

# Settings and the metrics directory must exist before Django or prometheus_client load.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refserver.settings")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="refserver-test-metrics-")

import django  # noqa: E402

django.setup()
