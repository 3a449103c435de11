"""Settings read from the environment refuse what the product can't run on."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("url", ["oracle://shop:pw@localhost/shop", "mysql://shop@localhost/shop"])
def test_a_database_other_than_postgresql_is_refused_with_a_message(url):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "backoffice.settings", "DEBUG": "1", "DATABASE_URL": url}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "runs on PostgreSQL only" in result.stderr
    assert "./dev" in result.stderr
