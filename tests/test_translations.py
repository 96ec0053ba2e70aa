"""The Simplified Chinese catalogue is complete, current and compiled.

Chinese is the default language, so an untranslated or stale string shows English to every
user. The catalogue checks use GNU gettext's own tools (msgattrib, msgfmt), which `make
messages` installs; no database is needed.
"""

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.utils import translation

LOCALE_DIR = Path(settings.BASE_DIR) / "locale"
ZH_PO = LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "django.po"
# As in the Makefile's `makemessages` target (plus collectstatic's output).
IGNORE_PATTERNS = [".venv", "node_modules", ".data", "staticfiles"]


def gettext_tool(*args: str) -> str:
    assert shutil.which(args[0]), f"{args[0]} is missing: install gettext (`make messages` does)"
    result = subprocess.run(args, capture_output=True, text=True, check=True)
    return result.stdout


def msgids(po_file: Path) -> set[tuple[str, str]]:
    """(msgctxt, msgid) of every live entry, the header excluded, read via msgattrib."""
    text = gettext_tool("msgattrib", "--no-obsolete", "--no-wrap", "--no-location", str(po_file))
    entries = set()
    for block in text.split("\n\n"):
        fields, current = {}, None
        for line in block.splitlines():
            if line.startswith('"') and current:
                fields[current] += line[1:-1]
            elif not line.startswith("#"):
                keyword, _, value = line.partition(" ")
                current = keyword
                fields[current] = value[1:-1]
        if fields.get("msgid"):
            entries.add((fields.get("msgctxt", ""), fields["msgid"]))
    return entries


def test_the_chinese_catalogue_has_no_untranslated_or_fuzzy_entries():
    untranslated = gettext_tool("msgattrib", "--untranslated", str(ZH_PO))
    fuzzy = gettext_tool("msgattrib", "--only-fuzzy", str(ZH_PO))

    assert untranslated == "", f"untranslated entries in {ZH_PO}:\n{untranslated}"
    assert fuzzy == "", f"fuzzy entries in {ZH_PO}:\n{fuzzy}"


def test_the_chinese_catalogue_keeps_every_placeholder():
    subprocess.run(
        ["msgfmt", "--check-format", "--check-header", "-o", os.devnull, str(ZH_PO)], check=True
    )


def test_makemessages_finds_no_new_strings(monkeypatch):
    """makemessages writes into the real tree, so the catalogue is restored afterwards, and a
    lock on the locale folder keeps test runs side by side from saving each other's copy."""
    monkeypatch.chdir(settings.BASE_DIR)
    lock = os.open(LOCALE_DIR, os.O_RDONLY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        original = ZH_PO.read_bytes()
        stat = ZH_PO.stat()
        before = msgids(ZH_PO)
        try:
            call_command(
                "makemessages",
                locale=["zh_Hans"],
                ignore_patterns=IGNORE_PATTERNS,
                no_obsolete=True,
                verbosity=0,
            )
            after = msgids(ZH_PO)
        finally:
            ZH_PO.write_bytes(original)
            os.utime(ZH_PO, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    finally:
        os.close(lock)

    new = sorted(msgid for _context, msgid in after - before)
    assert not new, "run `make makemessages` and translate the new strings:\n" + "\n".join(new)


def test_chinese_is_served_from_the_compiled_catalogue():
    with translation.override("zh-hans"):
        assert translation.gettext("Log in") == "登录", "run `make messages` to compile"
    with translation.override("en"):
        assert translation.gettext("Log in") == "Log in"
