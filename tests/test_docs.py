"""CONTRIBUTING.md names every module of the package, so its layout stays true."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Described as a whole, one line each: one module per conversation; Alembic's own files.
AS_FOLDERS = ("reminderbot/handlers/", "reminderbot/db/migrations/")


def modules() -> list[str]:
    """Every module of the package that needs its own line, as a path from the repository root."""
    found = []
    for path in sorted((ROOT / "reminderbot").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if path.name != "__init__.py" and not relative.startswith(AS_FOLDERS):
            found.append(relative)
    return found


def test_contributing_describes_every_module() -> None:
    layout = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8").split("## Layout", 1)[1]
    assert "`reminderbot/handlers/`" in layout
    for module in modules():
        assert f"| `{module}` |" in layout, (
            f"CONTRIBUTING.md (Layout) does not describe {module}: add one line for it"
        )
