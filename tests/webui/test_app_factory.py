"""Configuration: defaults, PILOTLAB_* environment variables, and the refusal to run without a secret key."""

import pytest

from pilots import migrate, settings
from webui import ConfigurationError, create_app


def test_production_refuses_to_start_without_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("PILOTLAB_SECRET_KEY", raising=False)
    monkeypatch.delenv("PILOTLAB_DEMO", raising=False)
    monkeypatch.setenv("PILOTLAB_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ConfigurationError, match="PILOTLAB_SECRET_KEY"):
        create_app()


def test_environment_configures_database_and_secret(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'env.sqlite3'}"
    migrate.upgrade(url)
    monkeypatch.setenv("PILOTLAB_DATABASE_URL", url)
    monkeypatch.setenv("PILOTLAB_SECRET_KEY", "from-the-environment")
    app = create_app()
    assert app.config["DATABASE_URL"] == url
    assert app.config["SECRET_KEY"] == "from-the-environment"


def test_default_database_is_sqlite_in_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("PILOTLAB_DATABASE_URL", raising=False)
    monkeypatch.setenv("PILOTLAB_INSTANCE_PATH", str(tmp_path))
    migrate.upgrade(settings.default_database_url(tmp_path))
    app = create_app({"TESTING": True})
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'pilotlab.sqlite3'}"


def test_demo_key_is_shared_between_app_instances(monkeypatch, tmp_path):
    monkeypatch.delenv("PILOTLAB_SECRET_KEY", raising=False)
    monkeypatch.setenv("PILOTLAB_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PILOTLAB_DEMO", "1")
    migrate.upgrade(settings.default_database_url(tmp_path))
    first, second = create_app(), create_app()
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert (tmp_path / "secret_key").read_text() == first.config["SECRET_KEY"]
