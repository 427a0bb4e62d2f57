"""cli/version_reports.py: `gradia matrix` and `gradia compare` report what the project stores."""

from __future__ import annotations

import json

import pytest

from gradia_desktop.cli import main
from gradia_desktop.core.assessment import version_matrix
from gradia_desktop.core.project_init import create_project
from gradia_desktop.core.records import QUADRANTS
from gradia_desktop.core.store import Project

from .cli_run import QUICK_TRAIN as TRAIN, run


@pytest.fixture(scope="module")
def trained_root(small_dataset, tmp_path_factory):
    """A project with two versions (v2 from v1), trained once for the module's tests."""
    project = create_project(tmp_path_factory.mktemp("reports") / "project", small_dataset / "images",
                             small_dataset / "masks")
    root = project.root
    project.close()
    for extra in ((), ("--from", "1", "--mode", "gradia-all", "--seed", "1")):
        assert main(["train", str(root), *TRAIN, *extra]) == 0
    return root


@pytest.fixture
def two_versions(trained_root):
    project = Project.open(trained_root)
    yield project
    project.close()


def test_matrix_counts_the_stored_predictions_and_the_judgements_made_so_far(two_versions, capsys):
    project = two_versions
    sample = project.samples(split="val")[0]
    project.set_judgement(2, sample.id, False)
    # the project stays open here, as in the app: the command reads it read-only beside it
    code, out, err = run(capsys, "matrix", project.root, "--version", "v2", "--split", "val", "--json")
    assert code == 0, err
    got = json.loads(out)
    expected = version_matrix(project, 2, "val")
    assert got["version"] == 2 and got["matrix"]["human"] == 1
    assert {q: got["matrix"][q] for q in QUADRANTS} == {q: expected[q] for q in QUADRANTS}
    assert sum(got["matrix"][q] for q in QUADRANTS) + got["matrix"]["unassessed"] == len(project.samples(split="val"))
    code, out, _ = run(capsys, "matrix", project.root, "--split", "all")
    assert code == 0 and out.startswith("model version v2") and "1 judged by a human" in out


def test_compare_gives_both_matrices_and_metrics_and_the_change(two_versions, capsys):
    project = two_versions
    code, out, err = run(capsys, "compare", project.root, "v1", "2", "--split", "test", "--json")
    assert code == 0, err
    got = json.loads(out)
    first, second = got["versions"]
    assert (first["version"], second["version"], second["parent"]) == (1, 2, 1)
    assert got["matrix_change"] == {q: second["matrix"][q] - first["matrix"][q] for q in QUADRANTS}
    stored = project.version(2).metrics["test"]["accuracy"] - project.version(1).metrics["test"]["accuracy"]
    assert got["metric_change"]["test"]["accuracy"] == pytest.approx(stored, abs=1e-6)
    code, out, _ = run(capsys, "compare", project.root, "v1", "v2")
    assert code == 0 and "matrix change: RA=" in out and "val   accuracy" in out


@pytest.mark.parametrize("argv, fragment", [
    (("compare", "{root}", "v1", "v1"), "two different versions"),
    (("compare", "{root}", "v1", "v9"), "v9"),
    (("matrix", "{root}", "--version", "banana"), "not a model version"),
])
def test_bad_versions_are_one_line_errors_with_exit_2(two_versions, capsys, argv, fragment):
    code, _, err = run(capsys, *(a.format(root=two_versions.root) for a in argv))
    lines = [line for line in err.splitlines() if "error:" in line]
    assert code == 2 and len(lines) == 1 and fragment in lines[0]
