import subprocess
import sys

import pytest

from vitalgraph.config import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in [n for n in __import__("os").environ if n.startswith("VITALGRAPH_")]:
        monkeypatch.delenv(name)


def test_defaults():
    settings = load_settings()
    assert settings.STREAMING_CHUNK_SIZE == 1024 * 1024
    assert settings.STREAMING_ENABLED is True
    assert settings.max_upload_size is None
    assert settings.BLOB_BACKEND == "local" and settings.GRAPH_BACKEND == "oxigraph"


def test_environment_caps_uploads(monkeypatch):
    monkeypatch.setenv("VITALGRAPH_MAX_STREAMING_FILE_SIZE", "1048576")
    monkeypatch.setenv("VITALGRAPH_STREAMING_ENABLED", "false")
    settings = load_settings()
    assert settings.max_upload_size == 1048576
    assert settings.STREAMING_ENABLED is False


@pytest.mark.parametrize(
    "suffix, text",
    [
        (".toml", "STREAMING_CHUNK_SIZE = 65536\nport = 9000\n"),
        (".yaml", "vitalgraph:\n  streaming_chunk_size: 65536\n  PORT: 9000\n"),
    ],
)
def test_config_file(tmp_path, suffix, text):
    path = tmp_path / f"settings{suffix}"
    path.write_text(text)
    settings = load_settings(path)
    assert settings.STREAMING_CHUNK_SIZE == 65536 and settings.PORT == 9000


def test_environment_beats_file_and_arguments_beat_both(tmp_path, monkeypatch):
    path = tmp_path / "s.toml"
    path.write_text("PORT = 9000\nHOST = '0.0.0.0'\n")
    monkeypatch.setenv("VITALGRAPH_PORT", "9100")
    settings = load_settings(path, HOST="127.0.0.2")
    assert settings.PORT == 9100 and settings.HOST == "127.0.0.2"


@pytest.mark.parametrize(
    "name, value, needle",
    [
        ("VITALGRAPH_STREAMING_CHUNK_SIZE", "10", "VITALGRAPH_STREAMING_CHUNK_SIZE"),
        ("VITALGRAPH_MAX_STREAMING_FILE_SIZE", "-1", "VITALGRAPH_MAX_STREAMING_FILE_SIZE"),
        ("VITALGRAPH_BLOB_BACKEND", "ftp", "VITALGRAPH_BLOB_BACKEND"),
        ("VITALGRAPH_JWT_SECRET", "short", "VITALGRAPH_JWT_SECRET=***"),
        ("VITALGRAPH_TRUSTED_PROXIES", "10.0.0.1, proxy.local", "'proxy.local' is not an IP address"),
        ("VITALGRAPH_PUBLIC_BASE_URL", "graph.example.org", "VITALGRAPH_PUBLIC_BASE_URL"),
        ("VITALGRAPH_PUBLIC_BASE_URL", "https://graph.example.org/?a=1", "without query"),
        ("VITALGRAPH_HEADER_TIMEOUT_SECONDS", "0", "VITALGRAPH_HEADER_TIMEOUT_SECONDS"),
        ("VITALGRAPH_MAX_CONNECTIONS_PER_CLIENT", "0", "VITALGRAPH_MAX_CONNECTIONS_PER_CLIENT"),
        ("VITALGRAPH_TUS_MAX_BYTES_PER_USER", "-1", "VITALGRAPH_TUS_MAX_BYTES_PER_USER"),
        ("VITALGRAPH_TRANSFER_IDLE_TIMEOUT_SECONDS", "0", "VITALGRAPH_TRANSFER_IDLE_TIMEOUT_SECONDS"),
        ("VITALGRAPH_TRANSFER_IDLE_TIMEOUT_SECONDS", "soon", "VITALGRAPH_TRANSFER_IDLE_TIMEOUT_SECONDS"),
        ("VITALGRAPH_LOGIN_MAX_FAILURES", "-1", "VITALGRAPH_LOGIN_MAX_FAILURES"),
        ("VITALGRAPH_LOGIN_FAILURE_WINDOW_SECONDS", "0", "VITALGRAPH_LOGIN_FAILURE_WINDOW_SECONDS"),
    ],
)
def test_bad_settings_name_the_setting(monkeypatch, name, value, needle):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_connection_settings_read_as_lists_and_a_bare_base_url() -> None:
    settings = load_settings(
        TRUSTED_PROXIES=" 10.0.0.5, 2001:db8::/32 ,", PUBLIC_BASE_URL="https://g.example.org/vg/"
    )
    assert settings.trusted_proxies == ["10.0.0.5", "2001:db8::/32"]
    assert settings.PUBLIC_BASE_URL == "https://g.example.org/vg"
    assert load_settings().trusted_proxies == []  # nobody's X-Forwarded-For by default, not even loopback's


def test_unknown_key_in_file_is_named(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("STREAMING_CHUNKSIZE = 1\n")
    with pytest.raises(SettingsError, match="STREAMING_CHUNKSIZE"):
        load_settings(path)


def test_broken_file_is_one_clear_line(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("PORT = = 1\n")
    with pytest.raises(SettingsError, match="not valid toml"):
        load_settings(path)


def test_serve_refuses_bad_settings_with_one_line(tmp_path):
    env = {"VITALGRAPH_PORT": "seventy", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "vitalgraph.cli", "serve", "--data-dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "vitalgraph: invalid setting VITALGRAPH_PORT='seventy': "
        "Input should be a valid integer, unable to parse string as an integer"
    ]
