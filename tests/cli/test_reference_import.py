"""cli/reference_import.py: the GRADIA reference code's dataset, model and judgements as one project."""

from __future__ import annotations

import json
import shutil

import torch

from gradia_desktop.core.store import Project
from gradia_desktop.training.models import build_model

from .cli_run import run


def reference_layout(small_dataset, root):
    """DATA/{train,val,test}/<class>/<file>, the labels flat in DATA/label named as their images, a
    model checkpoint as the reference code saves it, and a judgement file for two images."""
    data = root / "DATA"
    shutil.copytree(small_dataset / "images", data)
    (data / "label").mkdir()
    masks = sorted((small_dataset / "masks").rglob("*.png"))
    for mask in masks:
        image = next((data / mask.relative_to(small_dataset / "masks").parent).glob(mask.stem + ".*"))
        shutil.copy(mask, data / "label" / image.name)
    torch.manual_seed(0)
    model = build_model("tiny", 2)
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}},
               root / "model_best.pth.tar")
    names = sorted(p.name for p in (data / "val").rglob("*.png"))[:2]
    (root / "reasonablity_val.json").write_text(json.dumps({names[0]: "Unreasonable Accurate",
                                                            names[1]: "Reasonable Inaccurate"}))
    return data, len(masks), names


def test_the_reference_layout_becomes_a_project_with_its_model_and_judgements(small_dataset, tmp_path, capsys):
    data, n_masks, names = reference_layout(small_dataset, tmp_path)
    code, out, err = run(capsys, "import-reference", tmp_path / "project", "--data", data, "--arch", "tiny",
                         "--weights-file", tmp_path / "model_best.pth.tar", "--reasonability",
                         tmp_path / "reasonablity_val.json", "--device", "cpu", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert got["masks"] == n_masks and got["labels"].endswith("label") and got["version"] == 1
    with Project.open(tmp_path / "project", readonly=True) as project:
        assert sum(s.has_mask for s in project.samples()) == n_masks
        assert project.version(1).mode == "imported"
        judged = {project.sample(sid).path.rsplit("/", 1)[-1]: verdict for sid, verdict in project.judgements(1).items()}
    assert judged == {names[0]: False, names[1]: True}


def test_a_bad_judgement_file_stops_before_any_project_is_made(small_dataset, tmp_path, capsys):
    data, _, _ = reference_layout(small_dataset, tmp_path)
    (tmp_path / "bad.json").write_text(json.dumps({"a.png": "Fairly Reasonable"}))
    code, _, err = run(capsys, "import-reference", tmp_path / "project", "--data", data, "--arch", "tiny",
                       "--weights-file", tmp_path / "model_best.pth.tar", "--reasonability", tmp_path / "bad.json")
    assert code == 2 and "bad.json" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "project").exists()
    code, _, err = run(capsys, "import-reference", tmp_path / "project", "--data", data, "--reasonability",
                       tmp_path / "bad.json")
    assert code == 2 and "give the model too" in err
