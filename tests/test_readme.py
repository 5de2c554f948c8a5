"""The README's settings table and commands stay in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

from service.settings import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _settings_rows() -> dict[str, tuple[str, str]]:
    rows = {}
    for match in re.finditer(r"^\| `(NOTEKG_\w+)` \| (.+?) \| (.+?) \|$", README, re.MULTILINE):
        rows[match.group(1)] = (match.group(2), match.group(3))
    return rows


def _documented_default(default: object) -> str:
    if default is None:
        return "(unset)"
    if isinstance(default, tuple):
        return ", ".join(default) if default else "(empty)"
    return f"`{default}`"


def test_readme_lists_every_setting() -> None:
    assert set(_settings_rows()) == {setting.env_var for setting in SETTINGS}


def test_readme_setting_defaults_and_help_match() -> None:
    rows = _settings_rows()
    for setting in SETTINGS:
        default, meaning = rows[setting.env_var]
        assert default == _documented_default(setting.default), setting.env_var
        assert meaning == setting.help, setting.env_var


def test_readme_commands_exist() -> None:
    ci_script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for command in ("scripts/serve", "scripts/test"):
        assert f"```sh\n{command}\n```" in README
        assert (ROOT / command).stat().st_mode & 0o111, f"{command} is not executable"
    assert "scripts/test" in ci_script
