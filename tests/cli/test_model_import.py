"""cli/model_import.py and training/import_model.py: a model trained elsewhere becomes a version."""

from __future__ import annotations

import json

import numpy as np
import torch

from gradia_desktop.training.explain import Explainer
from gradia_desktop.training.models import build_model

from .cli_run import run


def _authors_checkpoint(path, classes: int, seed: int = 3):
    """Weights saved the way the GRADIA reference code saves them: a dict around a DataParallel state dict."""
    torch.manual_seed(seed)
    model = build_model("tiny", classes)
    state = {f"module.{k}": v for k, v in model.state_dict().items()}
    torch.save({"epoch": 7, "arch": "tiny", "state_dict": state, "best_acc1": torch.tensor(0.9)}, path)
    return model.eval()


def test_an_imported_model_gets_every_splits_predictions_and_its_own_copy(small_project, tmp_path, capsys):
    root = small_project.root
    small_project.close()
    model = _authors_checkpoint(tmp_path / "theirs.pth", classes=2)
    code, out, err = run(capsys, "import-model", root, "--arch", "tiny", "--weights-file", tmp_path / "theirs.pth",
                         "--device", "cpu", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert got["version"] == 1 and got["cam_layer"] == "layer4" and {"train", "val", "test"} <= set(got)
    (tmp_path / "theirs.pth").unlink()  # the version stands on its own
    from gradia_desktop.core.store import Project

    with Project.open(root, readonly=True) as project:
        version = project.version(1)
        assert version.mode == "imported" and version.config["pretrained"] is False
        sample = project.samples(split="val")[0]
        stored = project.predictions(1, "val")[sample.id]
        cam, probs = Explainer(project, version).heatmap(project.load_image(sample))
        assert stored.pred == int(np.argmax(probs))
        with torch.no_grad():  # the copy holds the very weights of the file
            copied = Explainer(project, version).model
            for (k, a), b in zip(model.state_dict().items(), copied.state_dict().values()):
                assert torch.equal(a, b.cpu()), k
    code, out, _ = run(capsys, "matrix", root, "--version", "1", "--json")
    assert code == 0 and json.loads(out)["version"] == 1


def test_weights_that_do_not_fit_the_projects_classes_make_no_version(small_project, tmp_path, capsys):
    root = small_project.root
    small_project.close()
    _authors_checkpoint(tmp_path / "three.pth", classes=3)
    code, _, err = run(capsys, "import-model", root, "--arch", "tiny", "--weights-file", tmp_path / "three.pth")
    assert code == 2 and "three.pth" in err and "weights do not fit" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    code, _, err = run(capsys, "import-model", root, "--arch", "tiny", "--weights-file", tmp_path / "junk.pt")
    assert code == 2 and "junk.pt: cannot load weights" in err
    code, _, err = run(capsys, "import-model", root, "--arch", "tiny", "--weights-file", tmp_path / "three.pth",
                       "--cam-layer", "layer9")
    assert code == 2
    from gradia_desktop.core.store import Project

    with Project.open(root, readonly=True) as project:
        assert project.versions(status=None) == []
    assert not (root / "models").exists() or not any((root / "models").iterdir())
