"""`gradia export` / `gradia import` end to end on a small generated project."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools.coco import COCO

from gradia_desktop.cli import main
from gradia_desktop.core.project_init import create_project
from gradia_desktop.core.store import Project

from .cli_run import run

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("command", ["export", "import"])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0 and f"usage: gradia {command}" in capsys.readouterr().out


def test_export_then_import_round_trip(small_project, small_dataset, tmp_path, capsys):
    root = small_project.root
    small_project.close()
    code, out, err = run(capsys, "export", root, "--format", "png,coco,manifest", "--out", tmp_path / "out",
                         "--with-images", "--json")
    assert code == 0, err
    result = json.loads(out)
    with Project.open(root) as project:
        masked = project.samples(has_mask=True)
        assert result["masks"] == len(masked) > 0 and result["samples"] == len(project.samples())
    assert "exporting:" in err  # progress on stderr
    reader = COCO(str(tmp_path / "out/coco.json"))
    capsys.readouterr()  # pycocotools talks on stdout
    assert len(reader.getAnnIds()) == len(masked)
    assert (tmp_path / "out/manifest.csv").is_file() and (tmp_path / "out/images/train").is_dir()
    for fmt, source in (("coco", tmp_path / "out/coco.json"), ("png", tmp_path / "out/masks")):
        fresh = tmp_path / f"fresh-{fmt}"
        create_project(fresh, tmp_path / "out/images").close()
        code, out, err = run(capsys, "import", fresh, "--format", fmt, "--from", source, "--json")
        assert code == 0, err
        assert len(json.loads(out)["matched"]) == len(masked)
        with Project.open(root) as a, Project.open(fresh) as b:
            for sa, sb in zip(a.samples(), b.samples(), strict=True):
                ma, mb = a.read_mask(sa), b.read_mask(sb)
                assert (ma is None and mb is None) or np.array_equal(ma, mb), sa.path
    code, out, err = run(capsys, "import", tmp_path / "fresh-png", "--format", "png", "--from", tmp_path / "out")
    assert code == 0 and "imported 0 masks" in out and "already has a mask" in out + err


def test_filters_and_text_output(small_project, tmp_path, capsys):
    root = small_project.root
    small_project.close()
    code, out, err = run(capsys, "export", root, "--format", "png", "--out", tmp_path / "val", "--split", "val",
                         "--class", "disc", "--quiet")
    assert code == 0 and out.startswith("exported ") and err == ""
    assert {p.parent.name for p in (tmp_path / "val/masks").rglob("*.png")} == {"disc"}
    code, _, err = run(capsys, "export", root, "--format", "png", "--out", tmp_path / "q", "--quadrant", "RA")
    assert code == 2 and "need a trained model version" in error_line(err)
    code, _, err = run(capsys, "export", root, "--format", "png", "--out", tmp_path / "val")
    assert code == 2 and "not an empty folder" in error_line(err)
    code, _, err = run(capsys, "export", root, "--format", "jpeg", "--out", tmp_path / "j")
    assert code == 2 and "unknown export format 'jpeg'" in error_line(err)
    assert not (tmp_path / "j").exists() and not (tmp_path / "q").exists()


def test_bad_imports_exit_2_naming_the_entry_and_write_nothing(small_project, tmp_path, capsys):
    root = small_project.root
    small_project.close()
    run(capsys, "export", root, "--format", "coco", "--out", tmp_path / "out")
    before = sorted(p.name for p in (root / "masks").iterdir())
    doc = json.loads((tmp_path / "out/coco.json").read_text())
    doc["images"][0]["file_name"] = "../../etc/passwd"
    doc["annotations"][1]["segmentation"]["counts"] = "00000"
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    code, out, err = run(capsys, "import", root, "--format", "coco", "--from", tmp_path / "bad.json", "--overwrite")
    line = error_line(err)
    assert code == 2 and out == "" and "nothing imported, 2 problems" in line
    assert "images[0]" in line and "'../../etc/passwd'" in line and "'..' in the path" in line
    assert "annotations[1]" in line and "malformed RLE" in line
    assert sorted(p.name for p in (root / "masks").iterdir()) == before


def test_import_refuses_a_jpeg_mask_unless_a_threshold_is_given(small_project, tmp_path, capsys):
    import cv2

    root = small_project.root
    sample = small_project.samples(split="test")[0]
    small_project.close()
    stem = sample.path.rsplit(".", 1)[0]
    mask = np.zeros((sample.height, sample.width), np.uint8)
    mask[4:20, 4:20] = 255
    target = tmp_path / "masks" / f"{stem}.jpg"
    target.parent.mkdir(parents=True)
    cv2.imwrite(str(target), mask)
    code, out, err = run(capsys, "import", root, "--format", "png", "--from", tmp_path / "masks")
    line = error_line(err)
    assert code == 2 and out == "" and "nothing imported" in line and "JPEG mask is lossy" in line
    code, out, err = run(capsys, "import", root, "--format", "png", "--from", tmp_path / "masks",
                         "--mask-threshold", 127, "--overwrite", "--json")
    assert code == 0, err
    assert json.loads(out)["matched"] == [sample.path]
    with Project.open(root) as project:
        assert np.array_equal(project.read_mask(sample), mask > 0)
