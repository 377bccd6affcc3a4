"""The Simplified Chinese catalogue is complete and up to date with the source.

The test extracts the messages afresh (makemessages on a copy of the source) and fails for any
message without a translation, so a new user-facing string cannot land untranslated.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIP = {".git", ".venv", "node_modules", ".data", "test-artifacts", "staticfiles", "tests",
        ".pytest_cache", ".ruff_cache", "bench"}


def _extract(tmp_path: Path) -> polib.POFile:
    copy = tmp_path / "src"
    shutil.copytree(ROOT, copy, ignore=lambda d, names: [n for n in names if n in SKIP])
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete",
         "--no-location", "-v", "0"],
        cwd=copy, check=True,
    )
    fresh = polib.pofile(str(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    assert fresh.find("Sign in") is not None  # the extraction found our messages
    return fresh


def test_every_message_has_a_chinese_translation(tmp_path):
    catalogue = _extract(tmp_path)
    missing = []
    for entry in catalogue:
        if entry.obsolete:
            continue
        translated = (
            all(entry.msgstr_plural.values()) if entry.msgid_plural else bool(entry.msgstr)
        )
        if not translated or "fuzzy" in entry.flags:
            missing.append(entry.msgid)
    assert not missing, (
        f"{len(missing)} message(s) lack a zh-Hans translation (run `make messages`, then "
        "translate them in locale/zh_Hans/LC_MESSAGES/django.po):\n" + "\n".join(missing[:40])
    )


@pytest.mark.django_db
def test_the_interface_switches_to_chinese(client, rep):
    client.force_login(rep)
    client.post("/language/", {"language": "zh-hans", "next": "/"})
    response = client.get("/")
    assert 'lang="zh-hans"' in response.content.decode()
    assert "首页" in response.content.decode()  # "Home" in the navigation
