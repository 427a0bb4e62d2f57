"""The efficacy suite: its generated cells carry the shortcut they claim (tied to the class in train
and val, random in test) and the masks they claim; a small cell runs end to end; the full command
writes its table (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from gradia_desktop.bench.efficacy.datasets import MASK_STYLES, SHORTCUTS, Cell, generate_cell, styled_mask
from gradia_desktop.bench.efficacy.suite import (
    ORACLE,
    PAPER,
    RECOMMENDED,
    RunFigures,
    TASK_AXES,
    _reference_task,
    full_suite,
    markdown_table,
    run_cell,
    run_suite,
    summarise,
    summary_by_shortcut,
    target_checks,
)
from gradia_desktop.cli import main

SMALL = (8, 4, 4)


def read(folder: Path) -> dict[str, list[np.ndarray]]:
    return {p.name: cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted(folder.glob("*.png"))}


def background_hue(data: Path, split: str, class_name: str) -> list[float]:
    """The hue of each image's corners, turned by 90 so that red (0 = 180) does not wrap."""
    hues = []
    for path in sorted((data / "images" / split / class_name).glob("*.png")):
        hsv = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2HSV)
        corners = np.concatenate([hsv[:4, :4].reshape(-1, 3), hsv[-4:, -4:].reshape(-1, 3)])
        hues.append(float(np.median((corners[:, 0].astype(int) + 90) % 180)))  # turned: warm hues wrap at 0
    return hues


def test_the_tint_shortcut_follows_the_class_in_train_and_val_but_not_in_test(tmp_path):
    data = generate_cell(tmp_path / "d", Cell(shortcut="tint", counts=(12, 12, 24)), seed=0)
    warm = lambda h: 60 < h < 130  # noqa: E731 - warm is 0-22 in OpenCV units, turned by 90
    for split in ("train", "val"):
        assert all(warm(h) for h in background_hue(data, split, "disc"))
        assert not any(warm(h) for h in background_hue(data, split, "cross"))
    test = [warm(h) for h in background_hue(data, "test", "disc") + background_hue(data, "test", "cross")]
    assert 0.2 < np.mean(test) < 0.8


@pytest.mark.parametrize("shortcut", SHORTCUTS)
def test_every_cell_writes_the_masks_it_promises(tmp_path, shortcut):
    cell = Cell(shortcut=shortcut, objects="glyphs", mask_fraction=0.25, mask_style="box", counts=(8, 10, 4))
    data = generate_cell(tmp_path / "d", cell, seed=1)
    for split, expected in (("train", 2), ("val", 2), ("test", 4)):  # 25% of 8; at least 20% of 10; all
        for class_name in cell.class_names:
            images = read(data / "images" / split / class_name)
            masks = read(data / "masks" / split / class_name)
            assert len(images) == SMALL[0] if split == "train" else len(images) > 0
            assert len(masks) == expected and set(masks) <= set(images)
            for mask in masks.values():
                assert mask.shape == (64, 64) and mask.any()
                if split != "test":  # a box is its own bounding box
                    ys, xs = np.nonzero(mask)
                    assert mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1].all()


def test_mask_styles_contain_the_object_and_differ_as_named():
    rng = np.random.default_rng(0)
    exact = np.zeros((64, 64), bool)
    cv2.circle(exact.view(np.uint8), (30, 30), 10, 1, -1)
    styled = {s: styled_mask(rng, exact, s) for s in MASK_STYLES}
    assert (styled["exact"] == exact).all()
    for style, mask in styled.items():
        assert (mask | exact == mask).all(), style
    assert exact.sum() < styled["dilated"].sum() and exact.sum() < styled["loose"].sum()
    assert styled["box"].sum() == 21 * 21


def test_the_suite_varies_one_axis_at_a_time_around_the_reference():
    cells = full_suite()
    reference = Cell()
    assert len({c.name for c in cells}) == len(cells) == 26
    assert cells[:20] == [c for c in cells if _reference_task(c)]  # added cells go last: numbers stay
    for cell in cells:
        changed = [f for f in ("shortcut", "mask_fraction", "mask_style", *TASK_AXES)
                   if getattr(cell, f) != getattr(reference, f)]
        objects_changed = (cell.objects, cell.contrast) != (reference.objects, reference.contrast)
        if changed in (["shortcut", "mask_fraction"], ["shortcut", "classes"], ["shortcut", "val_masks"]):
            # every shortcut kind at 5% masks too; three classes and no validation masks on the texture too
            assert (cell.mask_fraction == 0.05 or cell.shortcut == "texture") and not objects_changed, cell.name
            continue
        assert len(changed) + objects_changed <= 1, cell.name
    for shortcut in SHORTCUTS:
        assert {c.mask_fraction for c in cells if c.shortcut == shortcut and c.mask_style == reference.mask_style
                and (c.objects, c.contrast) == (reference.objects, reference.contrast)} >= {0.05, 0.10}


def test_a_shortcut_free_cell_has_the_cue_random_in_train_and_val(tmp_path):
    data = generate_cell(tmp_path / "d", Cell(shortcut="tint", counts=(24, 24, 4)), seed=0, shortcut_free=True)
    warm = lambda h: 60 < h < 130  # noqa: E731
    for split in ("train", "val"):
        for class_name in ("disc", "cross"):
            share = np.mean([warm(h) for h in background_hue(data, split, class_name)])
            assert 0.15 < share < 0.85, (split, class_name, share)


def test_a_small_cell_runs_the_baseline_every_recipe_and_the_ceiling(tmp_path):
    rows = run_cell(Cell(counts=SMALL), seed=0, workdir=tmp_path, baseline_epochs=1, guided_epochs=1)
    assert [r.recipe for r in rows] == ["baseline", PAPER, RECOMMENDED, ORACLE]
    for r in rows:
        assert 0 <= r.test_accuracy <= 1 and 0 <= r.test_iou <= 1 and r.seconds > 0
        assert r.val_reliance is not None and -1 <= r.val_reliance <= 1  # val carries masks on 1 in 5 images
        assert r.test_reliance is not None
    summary = summarise(rows)
    assert len(summary) == 4 and summary[0]["worst_test_accuracy"] == rows[0].test_accuracy
    table = markdown_table(summary, "gradia bench --efficacy --seeds 1", rows, [Cell(counts=SMALL)])
    assert table.count("\n| tint/shapes-high/masks 10% loose |") == 4 + 1 and "--seeds 1" in table  # + target row
    assert "| tint | 10% |" in table


def _row(cell: Cell, seed: int, recipe: str, accuracy: float, iou: float = 0.5, seconds: float = 10.0) -> RunFigures:
    return RunFigures(cell.name, seed, recipe, accuracy, iou, 0.3, 0.0, 0.0, seconds)


def test_target_checks_hold_the_recommended_recipe_to_every_target_per_seed():
    good, tight, few = Cell(), Cell(shortcut="texture"), Cell(mask_fraction=0.02)
    rows = []
    for seed, (base, guided) in enumerate([(0.5, 0.95), (0.6, 0.92), (0.55, 0.97)]):
        rows += [_row(good, seed, "baseline", base, iou=0.1), _row(good, seed, PAPER, 0.5, seconds=10),
                 _row(good, seed, RECOMMENDED, guided, iou=0.45, seconds=15), _row(good, seed, ORACLE, 0.97)]
    for seed, (base, guided) in enumerate([(0.7, 0.95), (0.9, 0.85), (0.5, 0.99)]):  # one seed falls below its baseline
        rows += [_row(tight, seed, "baseline", base, iou=0.2), _row(tight, seed, PAPER, 0.5, seconds=10),
                 _row(tight, seed, RECOMMENDED, guided, iou=0.4, seconds=25), _row(tight, seed, ORACLE, 0.9)]
    rows += [_row(few, 0, "baseline", 0.5), _row(few, 0, RECOMMENDED, 0.6)]
    checks = {c["cell"]: c for c in target_checks(rows, [good, tight, few])}
    assert set(checks) == {good.name, tight.name}  # 2% masks are below the targets' reach
    assert checks[good.name]["worst"] == 0.92 and checks[good.name]["least_gain"] == pytest.approx(0.32)
    assert checks[good.name]["iou_factor"] == pytest.approx(4.5) and checks[good.name]["time_factor"] == 1.5
    assert checks[tight.name]["least_gain"] == pytest.approx(-0.05) and checks[tight.name]["time_factor"] == 2.5
    assert checks[tight.name]["ceiling"] == 0.9
    table = markdown_table(summarise(rows), "cmd", rows, [good, tight, few])
    target_rows = [line for line in table.splitlines() if line.startswith(f"| {tight.name} | 0.950 |")]
    assert len(target_rows) == 1 and target_rows[0].count("**no**") == 4  # worst seed, baseline, IoU, time


def test_the_summary_lists_each_shortcut_kind_at_5_and_10_percent():
    rows = []
    for cell in full_suite():
        rows += [_row(cell, 0, name, 0.5) for name in ("baseline", PAPER, RECOMMENDED, ORACLE)]
    kinds = summary_by_shortcut(rows, full_suite())
    assert [(k["shortcut"], k["masks"]) for k in kinds] == [(s, f) for s in SHORTCUTS for f in (0.05, 0.10)]


def test_worker_processes_give_the_same_figures_as_one_process():
    cells = [Cell(counts=(6, 4, 4)), Cell(shortcut="mark", counts=(6, 4, 4))]
    alone = run_suite(cells, seeds=1, quick=False, jobs=1, epochs=(1, 1))
    together = run_suite(cells, seeds=1, quick=False, jobs=2, epochs=(1, 1))
    assert [(r.cell, r.seed, r.recipe) for r in together] == [(r.cell, r.seed, r.recipe) for r in alone]
    for a, b in zip(alone, together):  # one thread per worker may round differently from two
        assert b.test_accuracy == pytest.approx(a.test_accuracy, abs=0.01)
        assert b.test_iou == pytest.approx(a.test_iou, abs=1e-3)


@pytest.mark.heavy
def test_gradia_bench_efficacy_writes_its_table(tmp_path, capsys):
    out = tmp_path / "efficacy.md"
    code = main(["bench", "--efficacy", "--cells", "18,3", "--seeds", "1", "--quick", "--out", str(out), "--json",
                 "--quiet"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and len(result["runs"]) == 8 and len(result["summary"]) == 8
    text = out.read_text()
    assert "gradia bench --efficacy --seeds 1 --cells 18,3 --quick" in text
    assert text.count("| tint/shapes-high/masks 10% exact |") == 4 + 1  # four runs and the target row
    assert text.count("| mark/shapes-high/masks 10% loose |") == 4 + 1


@pytest.mark.parametrize("cells", ["0", "27", "1,x", ""])
def test_unknown_cells_are_a_one_line_error(capsys, cells):
    code = main(["bench", "--efficacy", "--cells", cells])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--cells" in err and "numbers from 1 to 26" in err and "\n" not in err


def test_jobs_below_one_is_a_one_line_error(capsys):
    code = main(["bench", "--efficacy", "--cells", "1", "--jobs", "0"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--jobs" in err and "\n" not in err


def test_three_classes_each_get_their_own_cue_in_train_and_a_random_one_in_test(tmp_path):
    data = generate_cell(tmp_path / "d", Cell(shortcut="tint", classes=3, counts=(10, 4, 30)), seed=0)
    assert sorted(p.name for p in (data / "images" / "train").iterdir()) == ["cross", "disc", "triangle"]
    green = lambda h: 130 <= h < 160  # noqa: E731 - the third class's hues (40-65), turned by 90
    assert all(green(h) for h in background_hue(data, "train", "triangle"))
    assert not any(green(h) for h in background_hue(data, "train", "disc") + background_hue(data, "train", "cross"))
    test = [green(h) for name in ("disc", "cross", "triangle") for h in background_hue(data, "test", name)]
    assert 0.15 < np.mean(test) < 0.55


def _has_hole(mask: np.ndarray) -> bool:
    _, hierarchy = cv2.findContours(mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    return hierarchy is not None and bool((hierarchy[0][:, 3] >= 0).any())


def test_two_kinds_per_class_mix_crosses_with_rings(tmp_path):
    rings = {}
    for kinds in (1, 2):
        data = generate_cell(tmp_path / str(kinds), Cell(kinds=kinds, counts=(2, 2, 30)), seed=0)
        rings[kinds] = [_has_hole(m > 0) for m in read(data / "masks" / "test" / "cross").values()]
    assert not any(rings[1])
    assert 0.2 < np.mean(rings[2]) < 0.8
    with pytest.raises(ValueError, match="shapes only"):
        generate_cell(tmp_path / "g", Cell(objects="glyphs", kinds=2, counts=(2, 2, 2)), seed=0)
    with pytest.raises(ValueError, match="2 to 3 classes"):
        generate_cell(tmp_path / "c", Cell(classes=4, counts=(2, 2, 2)), seed=0)


def test_a_partial_cue_leaves_some_train_images_with_the_other_class_s(tmp_path):
    data = generate_cell(tmp_path / "d", Cell(cue_rate=0.9, counts=(100, 2, 2)), seed=0)
    warm = lambda h: 60 < h < 130  # noqa: E731
    share = np.mean([warm(h) for h in background_hue(data, "train", "disc")])
    assert 0.8 <= share <= 0.97


def test_a_cell_without_validation_masks_runs_without_the_probe(tmp_path):
    cell = Cell(val_masks=False, counts=SMALL)
    rows = run_cell(cell, seed=0, workdir=tmp_path, baseline_epochs=1, guided_epochs=1)
    assert not list((tmp_path / "data" / "masks").glob("val/*/*.png"))
    assert list((tmp_path / "data" / "masks").glob("train/*/*.png"))
    assert all(r.val_reliance is None for r in rows) and cell.name.endswith("/no val masks")
