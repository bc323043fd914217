"""What a non-editable install gets: the wheel carries the pages' templates and static files."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from bot.resources import WEB
from bot.settings import ROOT


def test_the_wheel_ships_the_web_templates_and_static_files(tmp_path: Path) -> None:
    # Built from a copy: setuptools keeps a build/ folder beside the sources, and files
    # left there by an earlier build would be packed into this wheel too.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "bot", source / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(source), "-w", str(wheels)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = wheels.glob("evidence_faq_bot-*.whl")
    packed = set(zipfile.ZipFile(wheel).namelist())
    web = {f"bot/web/{p.relative_to(WEB).as_posix()}" for p in WEB.rglob("*") if p.is_file()}
    # What the app serves from (bot/service/app.py: templates and /static; routes: widget.js).
    assert {"bot/web/templates/chat.html", "bot/web/static/widget.js"} <= web
    assert web - packed == set()
