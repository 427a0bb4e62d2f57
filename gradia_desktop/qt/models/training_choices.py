"""What the training form offers: its modes, starts, architectures and learning rates, with the words
that explain each."""

from __future__ import annotations

from ...core.records import Version
from ...training.config import DEFAULT_BATCH, GUIDED_MIN_BATCHES, GUIDED_SMALL_BATCH, GUIDED_START, RESTART_EPOCHS

MODE_ITEMS = (
    ("guided", "Guided (recommended)",
     "Retrain on the expert's masks: most of each epoch shows the masked objects on other images' "
     "backgrounds, with GRADIA's attention loss and a penalty on evidence outside the masks"),
    ("baseline", "Baseline (cross-entropy only)",
     "Plain cross-entropy: no attention loss (masks still feed counterfactuals when those are on)"),
    ("gradia", "GRADIA (quadrant-weighted)",
     "The paper's GRADIA: weighs each masked sample by the parent version's quadrant (needs a parent)"),
    ("gradia-all", "GRADIA on all masks",
     "The attention loss on every masked training image at the 'masked' weights, whatever its quadrant"),
)
USED_WEIGHTS = {"baseline": (), "gradia": ("UA", "UI", "RI", "RA", "masked", "unmasked"),
                "gradia-all": ("masked", "unmasked"), "guided": ("masked", "unmasked")}
MODE_SUMMARY = {  # the one line under the mode, saying what a run in it does
    "guided": "Shows the masked objects on other backgrounds, some cut from two (later also the objects the "
              "model finds on unmasked images) and penalises evidence outside the masks, so the model must "
              "decide by what the expert marked; from a parent, it starts again from the parent's starting weights, leaving its "
              "shortcuts behind, and keeps its weights averaged over the last few epochs.",
    "baseline": "Cross-entropy only: learns whatever predicts the labels, shortcuts included.",
    "gradia": "The paper's GRADIA: attention loss weighted by the parent's quadrants (paper-exact).",
    "gradia-all": "The paper's attention loss on every masked image (paper-exact).",
}
ARCHS = ("tiny", "resnet18", "resnet34", "resnet50", "mobilenet_v3_small", "efficientnet_b0", "convnext_tiny")
LEARNING_RATES = ("1e-2", "3e-3", "1e-3", "3e-4", "1e-4", "3e-5", "1e-5")
NO_PARENT = "none (train from scratch)"
START_ITEMS = (  # (TrainConfig.start, label, tooltip)
    (None, "By mode", f"Guided mode starts again from the parent's starting weights ({GUIDED_START}); the other "
                      "modes fine-tune the parent's learned weights"),
    ("parent", "The parent's learned weights (fine-tune)", "Continue from the parent's weights, shortcuts included"),
    ("initial", "The parent's starting weights (retrain)",
     "Start again from the weights the parent's lineage began with (random, ImageNet or a weights file), "
     "keeping its architecture, layer and image size: nothing it learned is carried over"),
)
BATCH_TIP = (f"Images per optimisation step. auto: {DEFAULT_BATCH}, or {GUIDED_SMALL_BATCH} for a guided run "
             f"whose epoch would have fewer than {GUIDED_MIN_BATCHES} batches of {DEFAULT_BATCH} (more steps, for "
             "learning the objects anew from few masks)")
COUNTERFACTUAL_TIP = ("Counterfactual augmentation: on masked training images, the background outside the mask is "
                      "replaced by another image's background, so a cue in the background stops predicting the class.")


def version_label(v: Version) -> str:
    cf = "+cf" if v.config.get("counterfactual") and v.mode != "guided" else ""
    return f"{v.name} \u00b7 {v.mode}{cf} \u00b7 {v.arch} {v.image_size} px"


def inputs_text(mode: str, parent: Version | None, inputs: tuple[int, dict[int, int]] | None,
                counterfactual: bool, short_restart: bool) -> str:
    """The line saying what a run will learn from: ``inputs`` is (masked training images, judged samples
    per version) or None while unknown; ``short_restart``: it starts again with fewer than the default epochs."""
    text = _uses_text(mode, parent, inputs, counterfactual)
    if short_restart:
        text += (f"{'. ' if text else ''}It starts again from scratch: fewer than {RESTART_EPOCHS} epochs may "
                 "stop it before it has learned the objects")
    return text


def _uses_text(mode: str, parent: Version | None, inputs: tuple[int, dict[int, int]] | None,
               counterfactual: bool) -> str:
    if inputs is None:
        return ""
    masked, judged = inputs
    images = f"{masked} masked training image{'' if masked == 1 else 's'}"
    if mode == "baseline":
        return f"Uses {images} for counterfactual backgrounds" if counterfactual and masked \
            else "Uses the labels only: no masks"
    if mode == "gradia" and parent is not None:
        n = judged.get(parent.id, 0)
        return f"Uses {images}, weighted by {parent.name}'s quadrants: {n} judged by you, the rest as suggested"
    return f"Uses {images}"
