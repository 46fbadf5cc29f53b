"""Settings come from the BROWSERTRAIN_* variables and the command line's flags (which win), and from nowhere else:
a variable cannot move the folders the pages are served from, a bad value is refused by name, and the token never
shows in the settings' printed form."""

from __future__ import annotations

import pytest

from server.cli import main
from server.config import PROJECT_ROOT, UnsafeSettings, from_env


@pytest.fixture
def environment(monkeypatch):
    for name in ("DATA_DIR", "HOST", "PORT", "DB_URL", "TOKEN", "ALLOWED_HOSTS"):
        monkeypatch.delenv(f"BROWSERTRAIN_{name}", raising=False)
    return monkeypatch


def test_the_variables_set_what_they_name_and_the_flags_win(environment, tmp_path):
    environment.setenv("BROWSERTRAIN_PORT", "9001")
    environment.setenv("BROWSERTRAIN_DATA_DIR", str(tmp_path / "from-env"))
    environment.setenv("BROWSERTRAIN_ALLOWED_HOSTS", "DevBox.lan, ,10.0.0.7")
    environment.setenv("BROWSERTRAIN_TOKEN", "")  # empty: unset
    settings = from_env(data_dir=str(tmp_path / "from-flag"))
    assert settings.port == 9001 and settings.token is None
    assert settings.data_dir == tmp_path / "from-flag"
    assert settings.extra_hosts == ("devbox.lan", "10.0.0.7")


def test_no_variable_moves_the_folders_the_pages_come_from(environment):
    environment.setenv("BROWSERTRAIN_STATIC_DIR", "/")
    environment.setenv("BROWSERTRAIN_TEMPLATES_DIR", "/")
    settings = from_env()
    assert settings.static_dir == PROJECT_ROOT / "static" and settings.templates_dir == PROJECT_ROOT / "templates"


def test_a_token_from_the_environment_is_held_to_the_same_length_and_never_printed(environment):
    environment.setenv("BROWSERTRAIN_TOKEN", "short")
    with pytest.raises(UnsafeSettings, match="at least 16 characters"):
        from_env()
    environment.setenv("BROWSERTRAIN_TOKEN", "a-long-enough-secret-token")
    settings = from_env(host="0.0.0.0")
    assert settings.token == "a-long-enough-secret-token"
    assert "a-long-enough-secret-token" not in repr(settings)


def test_a_bad_port_variable_is_refused_by_its_name(environment, tmp_path, capsys):
    environment.setenv("BROWSERTRAIN_PORT", "eighty")
    assert main(["runs", "list", "--data-dir", str(tmp_path / "data")]) == 2
    assert "BROWSERTRAIN_PORT" in capsys.readouterr().err
