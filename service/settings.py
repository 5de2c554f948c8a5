"""The one table of service settings, with their defaults, environment variables and help.

Every setting can be given on the command line, as ``NOTEKG_<NAME>`` in the environment, or in
the mapping passed to ``create_app``. The README's settings list is generated from ``SETTINGS``
and a test keeps the two in sync.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any


class SettingsError(ValueError):
    """A setting has a value of the wrong type or out of range."""


@dataclass(frozen=True)
class Setting:
    """One setting: its name, default, how to parse it from text, and its help line."""

    name: str
    default: Any
    parse: Callable[[str], Any]
    help: str
    secret: bool = False

    @property
    def env_var(self) -> str:
        return "NOTEKG_" + self.name.upper()


def _positive_float(text: str) -> float:
    value = float(text)
    # float() accepts "nan" and "inf", which no time limit or interval can use.
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"must be a finite number greater than 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError(f"must be greater than 0, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(f"must be 0 or greater, got {text}")
    return value


def _base_iri(text: str) -> str:
    from service.page_queries import iri_problem

    problem = iri_problem(text)
    if problem is not None:
        raise ValueError(f"not an absolute IRI ({problem})")
    if not text.endswith(("/", "#")):
        raise ValueError("entity IRIs are made by appending to it, so it must end with / or #")
    return text


def _string_list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _optional_string(text: str) -> str | None:
    return text or None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "database_url",
        "sqlite:///instance/notekg.sqlite",
        str,
        "SQLAlchemy URL of the store: a SQLite file by default, or postgresql+psycopg://…",
    ),
    Setting(
        "base_iri",
        "https://notekg.example/id/",
        _base_iri,
        "Base IRI of the entities; the service serves IRIs under it at /id/…",
    ),
    Setting(
        "query_timeout",
        30.0,
        _positive_float,
        "Time limit of one SPARQL query, in seconds; a client's query is then stopped.",
    ),
    Setting(
        "max_rows",
        10_000,
        _positive_int,
        "Maximum number of result rows or triples returned for one query; more are cut off.",
    ),
    Setting(
        "max_body_bytes",
        1_048_576,
        _positive_int,
        "Maximum size of a request body, in bytes; larger requests get 413.",
    ),
    Setting(
        "max_concurrent_queries",
        8,
        _positive_int,
        "Maximum number of SPARQL queries running at once; more get 503 with Retry-After.",
    ),
    Setting(
        "query_processes",
        2,
        _non_negative_int,
        "Worker processes per server process that run clients' queries, so that a query is "
        "killed at its time limit; more queries wait for one. 0 runs them in threads, where a "
        "query past its limit gets 503 but keeps running.",
    ),
    Setting(
        "response_cache_bytes",
        32 * 2**20,
        _non_negative_int,
        "Bytes of successful responses that each server process keeps for the current "
        "generation and sends again for the same request; 0 turns the cache off.",
    ),
    Setting(
        "engine_dir",
        None,
        _optional_string,
        "Folder of the query engine's files, Oxigraph stores on disk built from the store: "
        "FILE.oxigraph beside a SQLite store FILE by default, or a folder under "
        "~/.cache/notekg for other databases.",
    ),
    Setting(
        "engine_files_from",
        20_000,
        _non_negative_int,
        "Quads from which a generation is queried from the engine's files on disk, which "
        "server processes share; smaller generations load into each process's memory. 0 puts "
        "every generation on disk.",
    ),
    Setting(
        "reload_interval",
        2.0,
        _positive_float,
        "Seconds after which the next request makes the service check the store for a new "
        "generation.",
    ),
    Setting(
        "update_token",
        None,
        _optional_string,
        "Bearer token that enables SPARQL Update and Graph Store writes; unset keeps them off.",
        secret=True,
    ),
    Setting(
        "service_allowlist",
        (),
        _string_list,
        "Comma-separated endpoint IRIs that SPARQL SERVICE may call; empty refuses SERVICE.",
    ),
    Setting(
        "cors_origins",
        (),
        _string_list,
        "Comma-separated origins allowed by CORS; empty turns CORS off.",
    ),
)

SETTINGS_BY_NAME = {setting.name: setting for setting in SETTINGS}


@dataclass(frozen=True)
class ServiceConfig:
    """The resolved settings of one service instance."""

    database_url: str
    base_iri: str
    query_timeout: float
    max_rows: int
    max_body_bytes: int
    max_concurrent_queries: int
    query_processes: int
    response_cache_bytes: int
    engine_dir: str | None
    engine_files_from: int
    reload_interval: float
    update_token: str | None
    service_allowlist: tuple[str, ...]
    cors_origins: tuple[str, ...]


def load_config(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> ServiceConfig:
    """Resolve every setting: an override wins over the environment, which wins over the default.

    Raises SettingsError naming the setting, its environment variable and the bad value.
    """
    overrides = dict(overrides or {})
    environ = os.environ if environ is None else environ

    unknown = set(overrides) - set(SETTINGS_BY_NAME)
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}")

    values = {setting.name: _resolve(setting, overrides, environ) for setting in SETTINGS}
    return ServiceConfig(**values)


def _resolve(setting: Setting, overrides: Mapping[str, Any], environ: Mapping[str, str]) -> Any:
    override = overrides.get(setting.name)
    if isinstance(override, str):
        # Text from a command-line option is checked as the environment variable's would be.
        try:
            return setting.parse(override)
        except ValueError as error:
            option = "--" + setting.name.replace("_", "-")
            raise SettingsError(
                f"invalid value {override!r} for {option}: {error}; {setting.help}"
            ) from error
    if override is not None:
        return override

    text = environ.get(setting.env_var)
    if text is None:
        return setting.default

    try:
        return setting.parse(text)
    except ValueError as error:
        raise SettingsError(
            f"invalid value {text!r} for {setting.env_var}: {error}; {setting.help}"
        ) from error


def config_field_names() -> list[str]:
    """Return the field names of ServiceConfig, for the test that keeps it in sync."""
    return [field.name for field in fields(ServiceConfig)]
