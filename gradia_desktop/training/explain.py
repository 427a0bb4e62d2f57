"""Grad-CAM for one sample and any class, for display: the model is loaded once per version."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..core.records import Sample, Version
from ..core.store import Project
from ..errors import GradiaError
from .checkpoint import load_checkpoint
from .data import Normalizer
from .pixel_cache import resize_rgb
from .device import pick_device
from .cam_methods import DEFAULT_METHOD
from .gradcam import inference_cam, upsample_cam
from .models import get_layer


def explain_image(model: torch.nn.Module, layer: torch.nn.Module, image_size: int, normalise: Normalizer,
                  rgb: np.ndarray, target: int | None = None,
                  method: str = DEFAULT_METHOD) -> tuple[np.ndarray, np.ndarray]:
    """(CAM at the image's size in [0, 1], class probabilities) of one image, for ``target``."""
    explained = explain_images(model, layer, image_size, normalise, [rgb], None if target is None else [target],
                               method)[0]
    return explained.cam, explained.probs


@dataclass
class Explained:
    cam: np.ndarray  # (H, W) float32 in [0, 1] at the image's own size
    grid: np.ndarray  # (h, w) float32 in [0, 1] at the CAM layer's resolution
    probs: np.ndarray  # class probabilities
    target: int  # the class explained


def explain_images(model: torch.nn.Module, layer: torch.nn.Module, image_size: int, normalise: Normalizer,
                   rgbs: list[np.ndarray], targets: list[int] | None = None,
                   method: str = DEFAULT_METHOD) -> list[Explained]:
    """The CAM (``method``, cam_methods.py) of several images (any sizes) in one batch, each for its
    target (None: the predicted class), upsampled to each image's own size."""
    x = torch.from_numpy(np.stack([resize_rgb(rgb, image_size) for rgb in rgbs])).permute(0, 3, 1, 2)
    wanted = None if targets is None else torch.tensor(targets, dtype=torch.long)
    logits, grid, _ = inference_cam(model, layer, normalise(x), wanted, method=method)
    probs = torch.softmax(logits.float(), dim=1).cpu().numpy()
    chosen = logits.argmax(dim=1) if wanted is None else wanted
    out = []
    for i, rgb in enumerate(rgbs):
        up = upsample_cam(grid[i:i + 1].float(), rgb.shape[:2])[0]
        out.append(Explained(up.cpu().numpy(), grid[i].float().cpu().numpy(), probs[i], int(chosen[i])))
    return out


class Explainer:
    """Heatmaps of one model version. Thread-safe: calls are serialised on an internal lock."""

    def __init__(self, project: Project, version: Version, device: str = "cpu"):
        if version.checkpoint is None:
            raise GradiaError(f"model {version.name} has no checkpoint (its run ended {version.status})")
        self._load(project.root / version.checkpoint, device)
        self.version = version

    @classmethod
    def from_file(cls, path: Path, device: str = "cpu") -> Explainer:
        """Heatmaps of a checkpoint that is no version yet (an epoch of a run still going on)."""
        explainer = cls.__new__(cls)
        explainer._load(path, device)
        explainer.version = None
        return explainer

    def _load(self, path: Path, device: str) -> None:
        self.device = pick_device(device)
        self.model, self.layer, self.spec = load_checkpoint(path, self.device)
        self._normalise = Normalizer(self.device)
        self._lock = threading.Lock()

    def heatmap(self, rgb: np.ndarray, target: int | None = None, method: str = DEFAULT_METHOD,
                layer: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(CAM at the image's size in [0, 1], class probabilities) for ``target`` (None: predicted),
        read at ``layer`` (a dotted path; None: the version's own CAM layer)."""
        with self._lock:
            at = self.layer if not layer else get_layer(self.model, layer)
            return explain_image(self.model, at, self.spec.image_size, self._normalise, rgb, target, method)

    def heatmap_for(self, project: Project, sample: Sample, target: int | None = None) -> np.ndarray:
        return self.heatmap(project.load_image(sample), target)[0]
