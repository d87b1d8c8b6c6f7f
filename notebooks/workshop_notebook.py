"""The setup every notebook's first code cell shares (notebooks/, from issue 16): one step's Django
on a temporary database, and `show_source` / `show_file`, which print the step's code as it is.

A kernel holds one step: every step has the same packages (`config`, `chat`, `collector`).
"""

from __future__ import annotations

import atexit
import inspect
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STEP: Path | None = None  # the step folder this kernel has set up
DATABASE_DIR: Path | None = None  # the folder of its temporary SQLite database


def set_up_django(step_name: str) -> Path:
    """Set up step `step_name`'s Django (on sys.path, its settings, a fresh database, migrated
    and seeded) and return its folder. Once per kernel: a second call for the same step
    changes nothing, and one for another step asks for a new kernel."""
    global STEP, DATABASE_DIR
    step = REPO / step_name
    if STEP is not None:
        if STEP != step:
            raise RuntimeError(f"this kernel holds {STEP.name}: restart it for {step_name}")
        return STEP
    if not (step / "manage.py").exists():
        raise FileNotFoundError(f"no step folder {step}")
    sys.path.insert(0, str(step))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    # Why, in each notebook's setup cell: Jupyter runs the cells in an event loop.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    # The settings read it when they are imported: without it, the in-memory channel layer.
    os.environ.pop("REDIS_URL", None)

    import django
    from django.conf import settings
    from django.core.management import call_command

    # Reading a setting loads config/settings.py; changing the database now, before
    # django.setup(), means no connection to the step's db.sqlite3 is ever opened. A file, not
    # SQLite in memory, which each connection (each thread) would see empty.
    DATABASE_DIR = Path(tempfile.mkdtemp(prefix=f"workshop-{step_name[:6]}-"))
    atexit.register(shutil.rmtree, DATABASE_DIR, ignore_errors=True)
    settings.DATABASES["default"]["NAME"] = DATABASE_DIR / "db.sqlite3"
    django.setup()
    call_command("migrate", verbosity=0)
    call_command("seed_demo")
    STEP = step
    return step


def remove_database() -> bool:
    """Close the database's connections and remove its folder; True once it is gone."""
    from django.db import connections

    connections.close_all()
    shutil.rmtree(DATABASE_DIR, ignore_errors=True)
    return not DATABASE_DIR.exists()


def show_source(obj) -> None:
    """Print a function's or class's source, read from its file, with where it lives."""
    obj = inspect.unwrap(obj)  # a decorated function: the source of the one it wraps
    lines, first_line = inspect.getsourcelines(obj)
    path = Path(inspect.getsourcefile(obj)).resolve()
    # The venv may live inside the repository: its packages are not the step's code.
    if path.is_relative_to(REPO) and "site-packages" not in path.parts:
        where = path.relative_to(REPO).as_posix()
    else:
        where = f"{path.name} of the installed package ({obj.__module__})"
    print(f"# {where}, line {first_line}\n")
    print("".join(lines))


def show_file(relative_path: str) -> None:
    """Print one file of the step, `relative_path` inside its folder."""
    print(f"# {STEP.name}/{relative_path}\n")
    print((STEP / relative_path).read_text(encoding="utf-8"))
