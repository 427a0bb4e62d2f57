"""The wheel and sdist: `python -m build` makes them (the wheel from the sdist, so the sdist is complete
too); the wheel carries what the app needs at run time; installed into a fresh virtual environment
outside any source tree it answers --version and runs `gradia-desktop --demo --screenshot`.

The fresh environment gets the wheel alone: the dependencies, which a real install would fetch (PyTorch
is gigabytes), are lent read-only from the environment running the tests by one .pth line. The full
install, every dependency resolved by pip from the configured indexes, is the slow test at the end:
`pytest -m heavy tests/packaging/test_wheel.py -k every_dependency` (a few minutes and several GB). The
`--demo --screenshot` run (about a minute: the demo's baseline trains first) is heavy too:
`pytest -m heavy tests/packaging/test_wheel.py`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from gradia_desktop import __version__

REPO = Path(__file__).resolve().parents[2]
COPY_IGNORE = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                                     ".import_linter_cache", "docs", "tests")


def _run(args, timeout=600, **kwargs):
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kwargs)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _clean_env(home: Path) -> dict:
    """No source tree, no settings or demo of the tests: a fresh HOME, offscreen Qt."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen")
    return env


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """The sdist and the wheel, built from a copy of the source tree."""
    pytest.importorskip("build")
    tmp = tmp_path_factory.mktemp("dist")
    source = tmp / "src"
    shutil.copytree(REPO, source, ignore=COPY_IGNORE)
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", tmp / "out", source])
    wheels, sdists = list((tmp / "out").glob("*.whl")), list((tmp / "out").glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    return wheels[0], sdists[0]


def test_the_wheel_carries_the_resources_and_no_tests(dist):
    wheel, sdist = dist
    assert wheel.name == f"gradia_desktop-{__version__}-py3-none-any.whl" and sdist.name.startswith("gradia_desktop-")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("gradia_desktop/resources/icons/app/org.gradia.GradiaDesktop.svg",
                   "gradia_desktop/resources/icons/app/org.gradia.GradiaDesktop-256.png",
                   "gradia_desktop/resources/desktop/org.gradia.GradiaDesktop.desktop",
                   "gradia_desktop/resources/desktop/org.gradia.GradiaDesktop.metainfo.xml",
                   "gradia_desktop/resources/desktop/org.gradia.GradiaDesktop.xml",
                   "gradia_desktop/resources/icons/mdi/brush.svg",
                   "gradia_desktop/resources/icons/mdi/LICENSE",
                   "gradia_desktop/core/demo.py"):
        assert needed in names, needed
    assert not any(n.startswith("tests/") for n in names)
    metadata = zipfile.ZipFile(wheel).read(f"gradia_desktop-{__version__}.dist-info/METADATA").decode()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    runtime = [line for line in requires if "extra ==" not in line]
    assert any("torch" in line for line in runtime) and not any("pytest" in line for line in runtime)
    assert any("pytest" in line and 'extra == "test"' in line for line in requires)  # tests apart


@pytest.fixture(scope="module")
def fresh_env(dist, tmp_path_factory):
    """A new virtual environment holding the wheel alone, its dependencies lent from this one."""
    tmp = tmp_path_factory.mktemp("fresh")
    env_dir = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", env_dir])
    python = env_dir / "bin" / "python"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    lent = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "_lent_dependencies.pth").write_text("\n".join(sorted(lent)) + "\n")
    home = tmp / "home"
    home.mkdir()
    _run([python, "-m", "pip", "install", "--no-deps", "--ignore-installed", "--no-index", dist[0]],
         env=_clean_env(home), cwd=tmp)
    return env_dir, home, tmp


def test_the_installed_wheel_answers_version_and_runs_from_its_own_files(fresh_env):
    env_dir, home, cwd = fresh_env
    env = _clean_env(home)
    assert _run([env_dir / "bin" / "gradia-desktop", "--version"], env=env, cwd=cwd).stdout.strip() == \
        f"gradia-desktop {__version__}"
    assert _run([env_dir / "bin" / "gradia", "--version"], env=env, cwd=cwd).stdout.strip() == f"gradia {__version__}"
    where = _run([env_dir / "bin" / "python", "-c", "import gradia_desktop; print(gradia_desktop.__file__)"],
                 env=env, cwd=cwd).stdout.strip()
    assert Path(where).is_relative_to(env_dir) and not Path(where).is_relative_to(REPO)


@pytest.mark.heavy  # the demo's baseline trains first: about a minute
def test_the_installed_wheel_opens_the_demo_and_writes_a_screenshot(fresh_env):
    env_dir, home, cwd = fresh_env
    out = cwd / "shot.png"
    _run([env_dir / "bin" / "gradia-desktop", "--demo", "--screenshot", out], env=_clean_env(home), cwd=cwd)
    header = out.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(header[16:20], "big") == 1440
    assert (home / ".local" / "share" / "gradia-desktop" / "demo" / "project" / "project.sqlite").is_file()


def test_the_installed_wheel_installs_its_desktop_files(fresh_env):
    env_dir, home, cwd = fresh_env
    share = cwd / "share"
    _run([env_dir / "bin" / "gradia", "desktop", "install", "--data-dir", share], env=_clean_env(home), cwd=cwd)
    entry = (share / "applications" / "org.gradia.GradiaDesktop.desktop").read_text()
    assert f"Exec={env_dir / 'bin' / 'gradia-desktop'} %f" in entry
    assert (share / "icons" / "hicolor" / "512x512" / "apps" / "org.gradia.GradiaDesktop.png").is_file()


@pytest.mark.heavy
def test_every_dependency_installs_into_a_fresh_environment_from_the_wheel(dist, tmp_path):
    """pip resolves and installs every runtime dependency of the wheel, then the app runs from there."""
    env_dir = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", env_dir])
    home = tmp_path / "home"
    home.mkdir()
    _run([env_dir / "bin" / "python", "-m", "pip", "install", "--progress-bar", "off", dist[0]], timeout=3600,
         env=_clean_env(home), cwd=tmp_path)
    out = tmp_path / "shot.png"
    _run([env_dir / "bin" / "gradia-desktop", "--demo", "--screenshot", out], env=_clean_env(home), cwd=tmp_path)
    assert out.stat().st_size > 10_000
