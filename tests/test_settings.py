"""Every setting has a default, help text, a BOT_ variable, and a line in the README."""

from __future__ import annotations

import re

import pytest

from bot.settings import ROOT, Settings

README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_setting_is_documented(name: str) -> None:
    field = Settings.model_fields[name]
    assert field.description, f"{name} has no help text"
    assert not field.is_required(), f"{name} has no default"
    assert re.search(rf"`BOT_{name.upper()}`", README), f"BOT_{name.upper()} missing in README"


def test_settings_read_bot_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOP_K", "7")
    monkeypatch.setenv("BOT_EMBEDDER", "fake")
    settings = Settings()
    assert settings.top_k == 7 and settings.embedder == "fake"


def test_invalid_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_PORT", "99999")
    with pytest.raises(ValueError, match="port"):
        Settings()


def test_readme_shows_the_two_commands() -> None:
    assert "make run" in README and "make test" in README


def test_several_workers_need_shared_sessions() -> None:
    with pytest.raises(ValueError, match="BOT_SESSION_STORE=redis"):
        Settings(workers=2)
    assert Settings(workers=2, session_store="redis").workers == 2


def test_site_url_is_an_http_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_SITE_URL", "https://www.example.org/evidence/{slug}/")
    assert Settings().site_url == "https://www.example.org/evidence/{slug}/"
    monkeypatch.setenv("BOT_SITE_URL", "  ")
    assert Settings().site_url is None
    for bad in ("javascript:alert(1)", "www.example.org/evidence", "https:///x"):
        monkeypatch.setenv("BOT_SITE_URL", bad)
        with pytest.raises(ValueError, match="site_url"):
            Settings()
