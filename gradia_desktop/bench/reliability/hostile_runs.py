"""The hostile-image corpus sent through ``gradia init``, ``train``, ``eval`` and ``export`` (issue items 2, 5, 6, 12).

For each kind of file two paths are tried, all steps in one child process (see ``step_runner``):

* **init**: a tree of a few good images plus the hostile file goes through ``gradia init``, which must
  succeed: one bad file never blocks a folder. It either takes the file (then the file is loaded back
  from the project and compared with what a correct reader shows) or leaves it out with a warning
  naming it; a kind where only a refusal is right must be left out. ``gradia init --strict`` on the
  same tree must refuse in one line exactly where the plain init left the file out, naming it.
* **swapped in later**: a trained project over good images has one image replaced by the hostile
  file (images stay where they are, so this happens); then ``train``, ``eval --recompute``, the
  load the GUI does and ``export --with-images`` run on it.

Every step must be handled or refused in one line (exit 2, one ``gradia <cmd>: error:`` line, no
traceback), never a traceback, a hang or a memory blow-up. An RGB photo given as a mask must be
refused by ``init --masks`` and by ``import``.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import cv2
import numpy as np

from ...core.images import is_image_name
from .probe_rows import ProbeRow, ProbeSummary
from .corpus import KINDS, REFUSAL, HostileKind, rgb_photo_as_mask, skip_reason
from .step_runner import GOOD, HANDLED, LEFT_OUT, REFUSED, StepOutcome, run_steps
from .tiny_projects import TRAIN_LAYOUT, draw_image, write_image_tree

HOSTILE_CLASS_DIR = ("train", "alpha")
INIT, STRICT_INIT = "init", "init --strict"
TRAIN = ("--arch", "tiny", "--epochs", "1", "--image-size", "32", "--device", "cpu", "--batch-size", "8", "--quiet")
MASK_KIND = "RGB photo given as a mask"


def placeholder_bytes(file_name: str, rng: np.random.Generator, height: int = 32, width: int = 32) -> bytes:
    """A good image in the format its name promises (what the hostile file later replaces)."""
    rgb = draw_image(rng, width, height, 0)
    suffix = Path(file_name).suffix.lower()
    if suffix == ".gif":
        import io

        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, "GIF")
        return buf.getvalue()
    ok, buf = cv2.imencode(suffix if suffix in (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp") else ".png",
                           cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return buf.tobytes()


def _cli(*argv, timeout: int = 60) -> dict:
    return {"op": "cli", "argv": [str(a) for a in argv], "timeout": timeout}


def _kind_steps(kind: HostileKind, k: int, work: Path, base_images: Path, template: Path,
                template_images: Path, placeholder: Path | None) -> list[tuple[str, dict]]:
    """(stage name, step) pairs for one kind; stages named "-" are set-up, not judged."""
    init_images = work / f"init-tree-{k}"
    shutil.copytree(base_images, init_images)
    in_tree = init_images.joinpath(*HOSTILE_CLASS_DIR, kind.file_name)
    rel = "/".join((*HOSTILE_CLASS_DIR, kind.file_name))
    expected = work / f"expected-{k}.npz"
    init_project = work / f"init-project-{k}"
    steps = [("-", {"op": "place", "kind": kind.name, "path": str(in_tree), "expected": str(expected), "seed": k}),
             (INIT, _cli("init", init_project, "--images", init_images, "--quiet")),
             ("load after init", {"op": "load", "project": str(init_project), "path": rel, "expected": str(expected),
                                  "skip_unless_exists": str(init_project)}),
             (STRICT_INIT, _cli("init", work / f"strict-project-{k}", "--images", init_images, "--strict", "--quiet"))]
    if placeholder is None:  # init does not take this suffix at all: nothing to swap
        return steps
    project, export = work / f"swapped-project-{k}", work / f"export-{k}"
    swapped = template_images.joinpath(*HOSTILE_CLASS_DIR, kind.file_name)
    steps += [
        ("-", {"op": "place", "kind": kind.name, "path": str(swapped), "expected": str(expected), "seed": k}),
        ("-", {"op": "copy", "from": str(template), "to": str(project)}),
        ("train", _cli("train", project, *TRAIN, timeout=120)),
        ("eval", _cli("eval", project, "--version", "1", "--split", "train", "--recompute", "--device", "cpu",
                      "--quiet", timeout=60)),
        ("load (as the GUI does)", {"op": "load", "project": str(project), "path": rel, "expected": str(expected)}),
        ("export", _cli("export", project, "--format", "png,coco,manifest", "--with-images", "--has-mask", "any",
                        "--version", "1", "--out", export, "--quiet")),
        ("-", {"op": "restore", "path": str(swapped), "from": str(placeholder)}),
    ]
    return steps


def _mask_steps(work: Path, base_images: Path, template: Path, rng) -> list[tuple[str, dict]]:
    masks = work / "rgb-masks"
    split, cls = HOSTILE_CLASS_DIR
    stem, width, height = next((s, w, h) for sp, c, s, w, h in TRAIN_LAYOUT if (sp, c) == (split, cls))
    rgb_photo_as_mask(masks / split / cls / f"{stem}.png", height, width, rng)
    project = work / "rgb-mask-import"
    return [("init --masks", _cli("init", work / "rgb-mask-init", "--images", base_images, "--masks", masks, "--quiet")),
            ("-", {"op": "copy", "from": str(template), "to": str(project)}),
            ("import", _cli("import", project, "--format", "png", "--from", masks, "--quiet"))]


def _names(stderr: str, file_name: str, prefix: str) -> bool:
    """Whether a line of ``stderr`` starting with ``prefix`` names ``file_name``."""
    return any(line.startswith(prefix) and file_name in line for line in stderr.splitlines())


class CorpusJudge:
    """Judges each step's outcome; for one kind, the plain init's warnings decide what the load after it
    and the strict init must show, so the three are judged together."""

    def __init__(self):
        self.named_by_init: dict[str, bool] = {}

    def __call__(self, kind: HostileKind | None, subject: str, item: str, stage: str, outcome: StepOutcome,
                 refusal_only: bool) -> ProbeRow:
        ok, detail = outcome.status in GOOD or outcome.status == "skipped", outcome.detail
        if kind is not None and stage == INIT:
            ok, detail = self._init(kind, outcome, refusal_only)
        elif kind is not None and stage == "load after init" and outcome.status == LEFT_OUT:
            ok = self.named_by_init.get(kind.name, False)
            detail = "left out, named by init" if ok else "left out without a warning naming it"
        elif kind is not None and stage == STRICT_INIT:
            ok, detail = self._strict(kind, outcome)
        elif stage in ("init --masks", "import") and refusal_only and outcome.status == HANDLED:
            ok, detail = False, "taken where only a refusal is right"
        return ProbeRow(subject, item, stage, outcome.status, detail, ok, outcome.seconds)

    def _init(self, kind: HostileKind, outcome: StepOutcome, refusal_only: bool) -> tuple[bool, str]:
        if outcome.status != HANDLED:
            return False, outcome.detail or "one file blocked the folder: it must be left out, named in a warning"
        named = _names(outcome.raw.get("stderr", ""), kind.file_name, "gradia init: warning: ")
        self.named_by_init[kind.name] = named
        if refusal_only and not named:
            return False, "taken where only a refusal is right"
        return True, "left out, named in a warning" if named else "taken"

    def _strict(self, kind: HostileKind, outcome: StepOutcome) -> tuple[bool, str]:
        left_out = self.named_by_init.get(kind.name)
        if left_out is None:
            return outcome.status in GOOD, outcome.detail
        if left_out and outcome.status != REFUSED:
            return False, f"{outcome.status} where the plain init left the file out: --strict must refuse"
        if left_out and not _names(outcome.raw.get("stderr", ""), kind.file_name, "gradia init: "):
            return False, "refused without naming the file"
        if not left_out and outcome.status != HANDLED:
            return False, f"{outcome.status} where the plain init took the file: {outcome.detail}"
        return True, outcome.detail


def shown_size(kind: HostileKind, scratch: Path) -> tuple[int, int]:
    """(height, width) a correct reader shows for this kind (32x32 where only a refusal is right): the
    placeholder gets it, so that the project's recorded size fits and train and eval read the content."""
    scratch.mkdir(parents=True, exist_ok=True)
    expected = kind.write(scratch / kind.file_name, np.random.default_rng(0))
    if expected is None or expected.shape is None:
        return 32, 32
    return expected.shape[0], expected.shape[1]


def run_hostile_corpus(workdir: Path, progress=None) -> ProbeSummary:
    """Every kind of the corpus through init, train, eval, export and the GUI's load; see the module docstring."""
    from ...core.progress import report

    started = time.monotonic()
    rng = np.random.default_rng(0)
    base = workdir / "base"
    base_images, _ = write_image_tree(base, TRAIN_LAYOUT, seed=1, masked=0)
    template_images, template_masks = write_image_tree(workdir / "template-tree", TRAIN_LAYOUT, seed=1, masked=2)
    template = workdir / "template-project"
    summary = ProbeSummary("hostile images")
    kinds = []
    for kind in KINDS:
        reason = skip_reason(kind)
        if reason:
            summary.skipped[kind.name] = reason
            continue
        placeholder = None
        if is_image_name(kind.file_name):
            placeholder = workdir / "placeholders" / f"{len(kinds)}{Path(kind.file_name).suffix}"
            placeholder.parent.mkdir(parents=True, exist_ok=True)
            height, width = shown_size(kind, workdir / "scratch" / str(len(kinds)))
            placeholder.write_bytes(placeholder_bytes(kind.file_name, rng, height, width))
            shutil.copyfile(placeholder, template_images.joinpath(*HOSTILE_CLASS_DIR, kind.file_name))
        kinds.append((kind, placeholder))
    staged: list[tuple[HostileKind | None, str, str, str, dict, bool]] = [
        (None, "template", "-", "-", _cli("init", template, "--images", template_images, "--masks", template_masks,
                                          "--quiet"), False),
        (None, "template", "-", "-", _cli("train", template, *TRAIN, timeout=180), False)]
    for k, (kind, placeholder) in enumerate(kinds):
        for stage, step in _kind_steps(kind, k, workdir, base_images, template, template_images, placeholder):
            staged.append((kind, kind.name, kind.item, stage, step, kind.outcomes == REFUSAL))
    for stage, step in _mask_steps(workdir, base_images, template, rng):
        staged.append((None, MASK_KIND, "2", stage, step, True))
    report(progress, "hostile corpus", 0, 1)
    outcomes = run_steps([s[4] for s in staged], workdir / "steps")
    report(progress, "hostile corpus", 1, 1)
    judge = CorpusJudge()
    for (kind, subject, item, stage, _step, refusal_only), outcome in zip(staged, outcomes):
        if stage == "-":
            if outcome.status not in (HANDLED, "skipped"):
                summary.rows.append(ProbeRow(subject, item, "set-up", outcome.status, outcome.detail, False))
            continue
        summary.rows.append(judge(kind, subject, item, stage, outcome, refusal_only))
    summary.seconds = time.monotonic() - started
    return summary


