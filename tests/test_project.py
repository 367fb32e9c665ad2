"""Project hygiene: one dependency list, clean notebooks, a quick start whose make targets dry-run."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent


def test_environment_yml_installs_the_project_and_nothing_else():
    text = (ROOT / "environment.yml").read_text()
    dependencies = text.split("dependencies:", 1)[1]  # channels are not packages
    package_lines = [line.strip()[2:] for line in dependencies.splitlines() if line.strip().startswith("- ")]
    assert "-e .[dev]" in package_lines, "environment.yml must install the project with pip -e .[dev]"
    extra = [name for name in package_lines if name not in ("-e .[dev]", "pip", "pip:")
             and not name.startswith("python=")]
    assert extra == [], f"environment.yml lists packages outside pyproject.toml: {extra}"


def test_environment_python_satisfies_requires_python():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    python = re.search(r"python=(\d+)\.(\d+)", (ROOT / "environment.yml").read_text())
    minor = int(python.group(2))
    bounds = pyproject["project"]["requires-python"]
    low = int(re.search(r">=3\.(\d+)", bounds).group(1))
    high = int(re.search(r"<3\.(\d+)", bounds).group(1))
    assert low <= minor < high


def test_every_dependency_has_lower_and_upper_bounds():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    requirements = pyproject["project"]["dependencies"] + pyproject["project"]["optional-dependencies"]["dev"]
    unbounded = [r for r in requirements if ">=" not in r or "<" not in r.replace("<=", "")]
    assert unbounded == []


def test_notebooks_are_committed_without_outputs():
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks, "no notebooks found"
    for path in notebooks:
        notebook = json.loads(path.read_text())
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs"), f"{path.name} has outputs"
                assert cell.get("execution_count") is None, f"{path.name} has execution counts"


def quick_start_commands() -> list[str]:
    """The commands in the README's Quick start code block (comments dropped)."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", section, re.S)
    assert block, "README's Quick start has no code block"
    lines = (line.split("#", 1)[0].strip() for line in block.group(1).splitlines())
    return [line for line in lines if line]


def test_readme_quick_start_targets_exist_and_dry_run(tmp_path):
    commands = quick_start_commands()
    assert commands and all(re.fullmatch(r"make [\w.-]+", c) for c in commands), commands
    targets = [command.split()[1] for command in commands]
    assert {"run", "test"} <= set(targets)
    makefile = (ROOT / "Makefile").read_text()
    defined = set(re.findall(r"^([\w.-]+)\s*:(?!=)", makefile, re.M))
    assert set(targets) <= defined, f"README targets missing from the Makefile: {set(targets) - defined}"
    assert "make test" in (ROOT / ".ci" / "run").read_text(), "CI must run the README's make test"

    make = shutil.which("make")
    assert make, "the README's quick start needs make"
    # A dry run from the repository root: make -n prints each recipe and executes none.
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    result = subprocess.run([make, "-n", *targets], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "-m digitlab app" in result.stdout  # make run starts the app
    assert "-m ruff check" in result.stdout and "-m pytest" in result.stdout  # make test checks


def test_serve_is_installed_inside_digitlab_not_as_a_top_level_package(tmp_path):
    import sys

    probe = ("import importlib.util, digitlab.serve; "
             "print(importlib.util.find_spec('serve') is None, digitlab.serve.__name__)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "digitlab.serve"]
