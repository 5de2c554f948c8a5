"""Tests of the settings table and load_config: defaults, environment, overrides and errors."""

from __future__ import annotations

import pytest

from service.settings import (
    SETTINGS,
    SETTINGS_BY_NAME,
    Setting,
    SettingsError,
    config_field_names,
    load_config,
)


def test_defaults_without_environment() -> None:
    config = load_config(environ={})

    for setting in SETTINGS:
        assert getattr(config, setting.name) == setting.default, setting.name


def test_default_values() -> None:
    config = load_config(environ={})

    assert config.database_url == "sqlite:///instance/notekg.sqlite"
    assert config.query_timeout == 30.0
    assert config.max_rows == 10_000
    assert config.update_token is None
    assert config.service_allowlist == ()


@pytest.mark.parametrize(
    ("variable", "text", "name", "expected"),
    [
        (
            "NOTEKG_DATABASE_URL",
            "sqlite:////tmp/x.sqlite",
            "database_url",
            "sqlite:////tmp/x.sqlite",
        ),
        ("NOTEKG_QUERY_TIMEOUT", "2.5", "query_timeout", 2.5),
        ("NOTEKG_RELOAD_INTERVAL", "1e-1", "reload_interval", 0.1),
        ("NOTEKG_MAX_ROWS", "25", "max_rows", 25),
        ("NOTEKG_MAX_CONCURRENT_QUERIES", " 3 ", "max_concurrent_queries", 3),
        ("NOTEKG_UPDATE_TOKEN", "s3cret", "update_token", "s3cret"),
        ("NOTEKG_UPDATE_TOKEN", "", "update_token", None),
        (
            "NOTEKG_SERVICE_ALLOWLIST",
            " http://127.0.0.1:9/a , ,http://127.0.0.1:9/b",
            "service_allowlist",
            ("http://127.0.0.1:9/a", "http://127.0.0.1:9/b"),
        ),
        ("NOTEKG_CORS_ORIGINS", "", "cors_origins", ()),
    ],
)
def test_environment_variable_is_parsed(
    variable: str, text: str, name: str, expected: object
) -> None:
    config = load_config(environ={variable: text})

    assert getattr(config, name) == expected


def test_override_beats_environment() -> None:
    config = load_config({"max_rows": 7}, environ={"NOTEKG_MAX_ROWS": "25"})

    assert config.max_rows == 7


def test_none_override_falls_back_to_environment() -> None:
    config = load_config({"max_rows": None}, environ={"NOTEKG_MAX_ROWS": "25"})

    assert config.max_rows == 25


@pytest.mark.parametrize(
    ("variable", "text"),
    [
        ("NOTEKG_QUERY_TIMEOUT", "soon"),
        ("NOTEKG_QUERY_TIMEOUT", "0"),
        ("NOTEKG_QUERY_TIMEOUT", "-1"),
        ("NOTEKG_QUERY_TIMEOUT", "nan"),
        ("NOTEKG_RELOAD_INTERVAL", "inf"),
        ("NOTEKG_MAX_ROWS", "1.5"),
        ("NOTEKG_MAX_ROWS", "0"),
        ("NOTEKG_MAX_BODY_BYTES", "1MB"),
        ("NOTEKG_MAX_CONCURRENT_QUERIES", "-2"),
        ("NOTEKG_BASE_IRI", "notaniri"),
        ("NOTEKG_BASE_IRI", "https://kg.test/id"),
        ("NOTEKG_BASE_IRI", "https://kg test/id/"),
    ],
)
def test_bad_value_names_variable_and_value(variable: str, text: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_config(environ={variable: text})

    assert variable in str(raised.value)
    assert repr(text) in str(raised.value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [("notaniri", "not an absolute IRI"), ("https://kg.test/id", "must end with / or #")],
)
def test_bad_base_iri_option_names_option(text: str, reason: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_config({"base_iri": text}, environ={})

    assert f"invalid value {text!r} for --base-iri" in str(raised.value)
    assert reason in str(raised.value)


def test_base_iri_option_accepted() -> None:
    config = load_config({"base_iri": "https://kg.test/id#"}, environ={})

    assert config.base_iri == "https://kg.test/id#"


def test_unknown_override_is_rejected() -> None:
    with pytest.raises(SettingsError, match="unknown setting.*query_timout"):
        load_config({"query_timout": 5}, environ={})


def test_environment_is_read_from_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTEKG_MAX_ROWS", "42")

    assert load_config().max_rows == 42


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda setting: setting.name)
def test_setting_has_help_text(setting: Setting) -> None:
    assert setting.help.strip()


def test_environment_variable_names() -> None:
    assert SETTINGS_BY_NAME["max_rows"].env_var == "NOTEKG_MAX_ROWS"
    assert SETTINGS_BY_NAME["service_allowlist"].env_var == "NOTEKG_SERVICE_ALLOWLIST"


def test_config_fields_match_settings() -> None:
    assert config_field_names() == [setting.name for setting in SETTINGS]


def test_setting_names_are_unique() -> None:
    assert len(SETTINGS_BY_NAME) == len(SETTINGS)


def test_config_is_frozen() -> None:
    config = load_config(environ={})

    with pytest.raises(AttributeError):
        config.max_rows = 1  # type: ignore[misc]
