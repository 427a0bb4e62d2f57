"""Grad-CAM for one sample and any class, for display: the model is loaded once per version."""

from __future__ import annotations

import threading
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
from .gradcam import inference_cam


def explain_image(model: torch.nn.Module, layer: torch.nn.Module, image_size: int, normalise: Normalizer,
                  rgb: np.ndarray, target: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(CAM at the image's size in [0, 1], class probabilities) of one image, for ``target``."""
    h, w = rgb.shape[:2]
    x = torch.from_numpy(resize_rgb(rgb, image_size)).permute(2, 0, 1)[None]
    logits, _, up = inference_cam(model, layer, normalise(x), target, (h, w))
    probs = torch.softmax(logits.float(), dim=1)[0].cpu().numpy()
    return up[0].float().cpu().numpy(), probs


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

    def heatmap(self, rgb: np.ndarray, target: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(CAM at the image's size in [0, 1], class probabilities) for ``target`` (None: predicted)."""
        with self._lock:
            return explain_image(self.model, self.layer, self.spec.image_size, self._normalise, rgb, target)

    def heatmap_for(self, project: Project, sample: Sample, target: int | None = None) -> np.ndarray:
        return self.heatmap(project.load_image(sample), target)[0]
