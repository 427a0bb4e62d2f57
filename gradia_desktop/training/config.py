"""Everything a training run is told, with defaults that work on the demo."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from ..errors import GradiaError
from ..core.cam_method_names import DEFAULT_METHOD, TRAINABLE

# (w_pred, w_att) per quadrant of the parent version, from the authors' reference code.
DEFAULT_WEIGHTS: dict[str, tuple[float, float]] = {
    "UA": (0.4, 1.6),
    "UI": (1.0, 1.0),
    "RI": (0.8, 0.2),
    "RA": (1.0, 0.0),
    "masked": (1.0, 1.0),  # a mask but no quadrant (unjudged, or "train with all maps")
    "unmasked": (1.0, 0.0),
}

DATA_MODES = ("auto", "memory", "stream")
# The attention term's form: the paper's L1 to the mask, or a boundary-tolerant one that lets the
# heatmap be anything between the mask eroded and the mask dilated by ``tolerance`` (loss.py).
ATTENTION_LOSSES = ("l1", "tolerant")
MODES = ("baseline", "gradia", "gradia-all", "guided")
RECOMMENDED_MODE = "guided"  # what a fine-tune does unless told otherwise (docs/algorithm.md, docs/efficacy.md)
# The guided recipe's settings where the user leaves them open (None): most of each epoch on
# counterfactual composites, and a penalty on the decision evidence outside the expert's mask.
GUIDED_SHARE, GUIDED_OUTSIDE_WEIGHT = 0.8, 1.0
# ... and a quarter of its background swaps cut from two backgrounds (counterfactual._mosaic;
# docs/algorithm.md: chosen on paired runs of the efficacy suite, not on the demo).
GUIDED_MOSAIC_SHARE = 0.25
PLAIN_SHARE = 0.5  # the share when counterfactuals are switched on for another mode
# Where a run with a parent starts: 'parent' fine-tunes the parent's learned weights; 'initial'
# keeps its architecture, layer and image size but starts again from the weights its lineage began
# with (random, ImageNet or a weights file), so no shortcut the parent learned is carried over.
STARTS = ("parent", "initial")
GUIDED_START = "initial"
# Epochs where the user leaves them open (None). A first model needs only long enough to show what it
# learns, shortcuts included. A run that starts again must learn the objects from scratch, mostly
# from the few masked images: on the efficacy suite it went on improving well past 15 epochs
# (docs/algorithm.md: background tint, 10% masks, three seeds: 0.72-0.875 after 8, 0.975-1.0 after 30).
DEFAULT_EPOCHS, RESTART_EPOCHS = 8, 30
# The batch where the user leaves it open (None). A guided run learns the objects anew from few
# masked images and, on a small project, ran short of optimiser steps: batches half as large lifted
# the efficacy suite's worst cells (docs/algorithm.md, "Twice the optimiser steps"). So a guided run
# halves the batch while an epoch would have fewer than GUIDED_MIN_BATCHES, down to GUIDED_SMALL_BATCH;
# a large project keeps full batches, which an accelerator fills better.
DEFAULT_BATCH, GUIDED_SMALL_BATCH, GUIDED_MIN_BATCHES = 32, 16, 20
# A guided run validates, keeps and proposes masks with its weights averaged over the optimiser's
# steps, with a time constant of this many epochs (averaging.py; docs/algorithm.md, "Averaged
# weights"): its reading of the background swings from epoch to epoch while it unlearns a shortcut.
GUIDED_AVERAGE_EPOCHS = 5.0


def default_epochs(start: str | None) -> int:
    """The epochs of a run whose ``--epochs`` is left open, by where it starts (a resolved ``start``)."""
    return RESTART_EPOCHS if start == "initial" else DEFAULT_EPOCHS


def default_batch_size(mode: str, train_images: int) -> int:
    """The batch of a run whose ``--batch-size`` is left open, by its mode and training split's size."""
    batch = DEFAULT_BATCH
    if mode == "guided":
        while batch // 2 >= GUIDED_SMALL_BATCH and -(-train_images // batch) < GUIDED_MIN_BATCHES:
            batch //= 2
    return batch


@dataclass
class TrainConfig:
    mode: str = "baseline"
    parent: int | None = None  # start from this version (its arch, layer and image size are kept)
    start: str | None = None  # with a parent: 'parent' or 'initial' weights (STARTS); None: by mode
    arch: str | None = None  # None: the parent's, or tiny
    cam_layer: str | None = None  # dotted path; None finds the last convolutional block
    cam_method: str = DEFAULT_METHOD  # the CAM the attention loss compares with the masks (cam_methods.TRAINABLE)
    image_size: int | None = None  # None: 64 for tiny, 224 otherwise
    epochs: int | None = None  # None: default_epochs() of where the run starts
    batch_size: int | None = None  # None: default_batch_size() of the mode and training split
    lr: float = 1e-3
    lam: float = 1.0
    device: str = "auto"
    seed: int = 0
    counterfactual: bool = False  # always on in mode 'guided'
    counterfactual_share: float | None = None  # share of each epoch drawn from masked images; None: by mode
    outside_weight: float | None = None  # weight of the outside-the-mask evidence penalty; None: by mode
    mosaic_share: float | None = None  # share of swaps with a plate cut from two (counterfactual._mosaic); None: by mode
    average_epochs: float | None = None  # time constant of the averaged weights (averaging.py); 0: off; None: by mode
    attention_loss: str = "l1"  # ATTENTION_LOSSES
    tolerance: float = 0.05  # with attention_loss 'tolerant': the band's half-width, a share of the image side
    avoid_weight: float = 1.0  # weight of the penalty on attention inside "don't look here" (loss.avoid_attention)
    weights: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    differentiable_weights: bool = False
    init_weights: str | None = None  # a local .pt/.pth/.safetensors file
    pretrained: bool = False  # ImageNet weights from torchvision's local cache
    flip: bool = True  # random horizontal flips
    propagate_masks: bool | None = None  # counterfactuals for unmasked images too, from the model's own CAM; None: by mode
    select_tolerance: float = 0.02  # see trainer.select_best_epoch
    data: str = "auto"  # 'memory', 'stream' (from the project's pixel cache) or 'auto' (stream large projects)
    loader_workers: int | None = None  # processes reading a streamed split ahead; None/0: threads do (batches.py)
    compile: bool = False  # torch.compile the training forward pass (see trainer.compiled_forward)

    def validate(self) -> None:
        if self.mode not in MODES:
            raise GradiaError(f"unknown mode {self.mode!r} (expected one of {', '.join(MODES)})")
        if self.start is not None and self.start not in STARTS:
            raise GradiaError(f"unknown start {self.start!r} (expected one of {', '.join(STARTS)})")
        if self.cam_method not in TRAINABLE:
            raise GradiaError(f"CAM method {self.cam_method!r} cannot drive the attention loss "
                              f"(expected one of {', '.join(TRAINABLE)})")
        if self.mode == "gradia" and self.parent is None:
            raise GradiaError("mode 'gradia' weighs samples by the parent version's quadrants: pass --from VERSION")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise GradiaError(f"{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.lr <= 0 or self.lam < 0:
            raise GradiaError(f"learning rate must be > 0 and lambda >= 0 (got {self.lr}, {self.lam})")
        if self.image_size is not None and self.image_size < 16:
            raise GradiaError(f"image size {self.image_size} is too small (at least 16 px)")
        if self.counterfactual_share is not None and not 0 < self.counterfactual_share < 1:
            raise GradiaError(f"counterfactual share must lie strictly between 0 and 1, got {self.counterfactual_share}")
        if self.mosaic_share is not None and not 0 <= self.mosaic_share <= 1:
            raise GradiaError(f"the mosaic share must lie between 0 and 1, got {self.mosaic_share}")
        if self.average_epochs is not None and self.average_epochs < 0:
            raise GradiaError(f"the averaging time constant must be >= 0 epochs (0: off), got {self.average_epochs}")
        if self.outside_weight is not None and self.outside_weight < 0:
            raise GradiaError(f"the outside-evidence weight must be >= 0, got {self.outside_weight}")
        if self.attention_loss not in ATTENTION_LOSSES:
            raise GradiaError(f"unknown attention loss {self.attention_loss!r} (expected one of "
                              f"{', '.join(ATTENTION_LOSSES)})")
        if not 0 < self.tolerance < 0.5:
            raise GradiaError(f"the tolerance is a share of the image side, above 0 and below 0.5; got {self.tolerance}")
        if self.avoid_weight < 0:
            raise GradiaError(f"the \"don't look here\" weight must be >= 0, got {self.avoid_weight}")
        if self.propagate_masks and not (self.counterfactual or self.mode == "guided"):
            raise GradiaError("proposed masks only feed counterfactual backgrounds: turn those on (--counterfactual) "
                              "or leave mask propagation off")
        if self.data not in DATA_MODES:
            raise GradiaError(f"unknown data mode {self.data!r} (expected one of {', '.join(DATA_MODES)})")
        if self.compile and self.differentiable_weights:
            raise GradiaError("compile cannot be combined with differentiable weights: a compiled model has no "
                              "second-order backward, which differentiable Grad-CAM weights need")
        if self.loader_workers is not None and self.loader_workers < 0:
            raise GradiaError(f"loader workers must be 0 or more, got {self.loader_workers}")
        missing = set(DEFAULT_WEIGHTS) - set(self.weights)
        if missing:
            raise GradiaError(f"the weight table lacks {', '.join(sorted(missing))}")
        for key, pair in self.weights.items():
            if len(pair) != 2 or min(pair) < 0:
                raise GradiaError(f"weights for {key} must be two numbers >= 0, got {pair}")

    def resolved(self, train_images: int | None = None) -> TrainConfig:
        """The config with the mode's settings filled in where they were left open, as a run uses it.
        The batch is filled in only once the training split's size (``train_images``) is known."""
        guided = self.mode == "guided"
        share = self.counterfactual_share
        if share is None:
            share = GUIDED_SHARE if guided else PLAIN_SHARE
        outside = self.outside_weight
        if outside is None:
            outside = GUIDED_OUTSIDE_WEIGHT if guided else 0.0
        propagate = guided if self.propagate_masks is None else self.propagate_masks
        mosaic = self.mosaic_share if self.mosaic_share is not None else (GUIDED_MOSAIC_SHARE if guided else 0.0)
        average = self.average_epochs if self.average_epochs is not None else (GUIDED_AVERAGE_EPOCHS if guided else 0.0)
        start = (self.start or (GUIDED_START if guided else "parent")) if self.parent is not None else None
        return replace(self, counterfactual=self.counterfactual or guided, counterfactual_share=share,
                       outside_weight=outside, start=start, propagate_masks=propagate, mosaic_share=mosaic,
                       average_epochs=average,
                       epochs=self.epochs or default_epochs(start), weights=dict(self.weights),
                       batch_size=self.batch_size or (default_batch_size(self.mode, train_images)
                                                      if train_images is not None else None))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, source: str = "settings") -> TrainConfig:
        """The config ``to_dict`` wrote (JSON turns its weight pairs into lists); ``source`` names
        where it came from in the one-line error about a field that is unknown or of the wrong kind."""
        if not isinstance(data, dict):
            raise GradiaError(f"{source}: expected a JSON object of training settings")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise GradiaError(f"{source}: unknown training setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
        values = dict(data)
        if "weights" in values:
            try:
                values["weights"] = {str(k): tuple(float(x) for x in v) for k, v in values["weights"].items()}
            except (AttributeError, TypeError, ValueError):
                raise GradiaError(f"{source}: 'weights' must map each row to two numbers") from None
        config, defaults = cls(**values), cls()
        for f in fields(cls):  # a string where a number belongs would fail deep inside the run
            value, default = getattr(config, f.name), getattr(defaults, f.name)
            if value is not None and default is not None and type(value) is not type(default) \
                    and not (isinstance(default, float) and type(value) is int):
                raise GradiaError(f"{source}: {f.name!r} must be a {type(default).__name__}, got {value!r}")
        try:
            config.validate()
        except GradiaError as exc:
            raise GradiaError(f"{source}: {exc}") from None
        return config

    @classmethod
    def read(cls, path: Path) -> TrainConfig:
        """Settings saved as JSON (the app writes them so a distributed run trains with its form's settings)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise GradiaError(f"{path}: cannot read the settings ({exc.strerror or exc})") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise GradiaError(f"{path}: not a JSON settings file ({exc})") from None
        return cls.from_dict(data, str(path))
