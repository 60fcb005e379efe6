"""Production mode: the server refuses to start without VITALGRAPH_JWT_SECRET (one clear line)."""

import os
import subprocess
import sys

import pytest

from vitalgraph.config import SettingsError, load_settings

SECRET = "s" * 16 + "0123456789abcdef"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in [n for n in os.environ if n.startswith("VITALGRAPH_")]:
        monkeypatch.delenv(name)


def test_production_without_a_jwt_secret_is_refused(monkeypatch):
    monkeypatch.setenv("VITALGRAPH_PRODUCTION", "true")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert str(info.value) == (
        "invalid settings: VITALGRAPH_JWT_SECRET is required when VITALGRAPH_PRODUCTION=true "
        "(set it to a random string of at least 32 characters)"
    )


def test_production_with_a_jwt_secret_loads(monkeypatch):
    monkeypatch.setenv("VITALGRAPH_PRODUCTION", "true")
    monkeypatch.setenv("VITALGRAPH_JWT_SECRET", SECRET)
    settings = load_settings()
    assert settings.PRODUCTION is True and settings.JWT_SECRET == SECRET


def test_development_mode_needs_no_secret():
    assert load_settings().PRODUCTION is False and load_settings().JWT_SECRET is None


def test_serve_in_production_without_a_secret_exits_with_one_line_and_creates_nothing(tmp_path):
    data_dir = tmp_path / "data"
    env = {"VITALGRAPH_PRODUCTION": "true", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "vitalgraph.cli", "serve", "--data-dir", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "VITALGRAPH_JWT_SECRET is required" in lines[0], result.stderr
    assert not data_dir.exists()  # no auth.json with a generated secret was written
