"""The wheel, built as the Docker image builds it (`pip install .` of pyproject.toml,
README.md and app/): it must hold every file the app needs at run time."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
# What the Dockerfile copies into its build stage.
BUILD_INPUTS = ("pyproject.toml", "README.md", "app")


def _tracked(*paths: str) -> list[str]:
    """The files git tracks under ``paths``, relative to the repository."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--", *paths],
        cwd=REPOSITORY,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    return [name for name in listed.split("\0") if name]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The wheel built from a copy of the tracked build inputs, with build isolation (pip
    installs the setuptools that [build-system] asks for), as `pip install .` does."""
    source = tmp_path_factory.mktemp("source")
    for name in _tracked(*BUILD_INPUTS):
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPOSITORY / name, target)
    output = tmp_path_factory.mktemp("wheel")
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(output)]
    built = subprocess.run(
        [*build, str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (path,) = output.glob("broadsheet-*.whl")
    return zipfile.ZipFile(path)


def test_the_wheel_holds_every_file_git_tracks_under_app(wheel: zipfile.ZipFile) -> None:
    """Templates, static files (the demo's images too), the demo articles and the
    migrations: a file left out is a 404 or a crash in the container only."""
    tracked = {name for name in _tracked("app") if "__pycache__" not in name.split("/")}
    assert "app/web/static/demo/forest.svg" in tracked  # the listing is not empty or wrong
    missing = sorted(tracked - set(wheel.namelist()))
    assert missing == []


def test_the_wheel_requires_both_web_servers(wheel: zipfile.ZipFile) -> None:
    """`broadsheet web` runs granian, or gunicorn with server.kind = "gunicorn": the image
    installs the wheel's dependencies, so both must be among them."""
    (metadata,) = (name for name in wheel.namelist() if name.endswith(".dist-info/METADATA"))
    headers = HeaderParser().parsestr(wheel.read(metadata).decode("utf-8"))
    required = {
        _project_name(requirement)
        for requirement in headers.get_all("Requires-Dist") or []
        if "extra ==" not in requirement  # the [test] and [lint] extras are not installed
    }
    assert {"granian", "gunicorn"} <= required


def _project_name(requirement: str) -> str:
    """The normalised project name that starts a requirement (PEP 508, PEP 503)."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match is not None, requirement
    return re.sub(r"[-_.]+", "-", match.group()).lower()
