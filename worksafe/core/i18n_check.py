"""CI check: the zh_Hans catalogue is current and complete (no untranslated or fuzzy entries).

1. Re-extract messages from the package (`makemessages`, in place: a stale catalogue shows as a diff).
2. Parse the .po and fail on any entry without a translation or marked fuzzy.
3. Compile it (`compilemessages`) so the shipped .mo matches.
"""

import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
PO = PACKAGE / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def problems(text: str) -> list[str]:
    found, entry = [], []
    for block in text.split("\n\n"):
        lines = block.strip().splitlines()
        entry = [ln for ln in lines if not ln.startswith("#~")]
        if not entry:
            continue
        msgid = _field(entry, "msgid")
        if msgid == "":
            continue  # header
        fuzzy = any(ln.startswith("#,") and "fuzzy" in ln for ln in entry)
        plural = any(ln.startswith("msgstr[") for ln in entry)
        if plural:
            empty = any(ln.startswith("msgstr[") and ln.rstrip().endswith('""') and
                        _continuation_empty(entry, ln) for ln in entry)
        else:
            empty = _field(entry, "msgstr") == ""
        if fuzzy or empty:
            found.append(("fuzzy: " if fuzzy else "untranslated: ") + msgid)
    return found


def _continuation_empty(entry, line):
    i = entry.index(line)
    return not (i + 1 < len(entry) and entry[i + 1].startswith('"'))


def _field(entry, name):
    out, on = [], False
    for ln in entry:
        if ln.startswith(name + " "):
            on = True
            out.append(ln[len(name) + 1:].strip().strip('"'))
        elif on and ln.startswith('"'):
            out.append(ln.strip().strip('"'))
        elif on:
            break
    return "".join(out) if on else None


def _without_date(text: str) -> str:
    return "\n".join(ln for ln in text.splitlines() if not ln.startswith('"POT-Creation-Date:'))


def main() -> int:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "worksafe.settings_test"}
    manage = [sys.executable, "-m", "django"]
    before = PO.read_text(encoding="utf-8")
    subprocess.run([*manage, "makemessages", "-l", "zh_Hans", "--no-obsolete", "--add-location", "file",
                    "--ignore", "static/*"], cwd=PACKAGE, env=env, check=True, stdout=subprocess.DEVNULL)
    after = PO.read_text(encoding="utf-8")
    if _without_date(after) == _without_date(before):
        PO.write_text(before, encoding="utf-8")  # only the extraction date moved: leave the tree clean
    # Compile even when entries are missing, so that what is translated shows at once.
    subprocess.run([*manage, "compilemessages", "-l", "zh_Hans"], cwd=PACKAGE, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    if _without_date(after) != _without_date(before):
        print(f"{PO}: was stale and has been re-extracted; commit it (and the .mo)")
    bad = problems(PO.read_text(encoding="utf-8"))
    if bad:
        print(f"{PO}: {len(bad)} entries need a translation:")
        for line in bad:
            print("  " + line)
        return 1
    print(f"{PO.name}: complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
