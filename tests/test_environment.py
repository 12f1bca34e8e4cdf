"""environment.yml says it mirrors pyproject.toml: every requirement of the package and its dev extras is
listed there with the same version bounds (conda users get what `make test` installs)."""
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_lists_every_requirement_of_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    missing = [r for r in wanted if r.replace(" ", "") not in {p.replace(" ", "") for p in pip}]
    assert not missing, f"environment.yml lacks {missing}"
