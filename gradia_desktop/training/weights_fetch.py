"""ImageNet weights a user can get: torchvision's file for an architecture, downloaded into torchvision's
own cache only when asked (``gradia weights fetch ARCH``, or the Training dock's button).

The file's name carries the first hex digits of its SHA-256 (``resnet18-f37072fd.pth``); the download
is hashed as it arrives and kept only if they match. It is written beside its final place and renamed
into it when complete, so an interrupted download never leaves a file that looks usable. Nothing
else in the product downloads anything: training only looks in the cache (models.imagenet_weights_path).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch

from ..core.progress import CancelCheck, Progress, report, stop_if_cancelled
from ..errors import GradiaError

CHUNK = 1 << 16  # small: the GUI downloads on its own thread and stays responsive between chunks
TIMEOUT_S = 30
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")


@dataclass(frozen=True)
class WeightsFile:
    arch: str
    url: str
    path: Path  # where torchvision (and training with ImageNet weights) looks for it
    hash_prefix: str | None  # leading hex digits of the file's SHA-256, from its name

    @property
    def present(self) -> bool:
        return self.path.is_file()

    def offline_advice(self) -> str:
        return (f"on a machine that is online, download {self.url} and copy it to {self.path}, "
                "or pass --weights-file FILE to `gradia train`")


def weights_file(arch: str) -> WeightsFile:
    """Where ``arch``'s ImageNet weights come from and where they go; GradiaError if it has none."""
    import torchvision

    try:
        weights = torchvision.models.get_model_weights(arch).DEFAULT
    except (ValueError, KeyError):
        raise GradiaError(f"architecture {arch!r} has no ImageNet weights in torchvision") from None
    name = os.path.basename(weights.url)
    found = _HASH_IN_NAME.search(name)
    return WeightsFile(arch, weights.url, Path(torch.hub.get_dir()) / "checkpoints" / name,
                       found.group(1) if found else None)


def fetch_weights(arch: str, progress: Progress = None, cancelled: CancelCheck = None,
                  url: str | None = None) -> WeightsFile:
    """Download ``arch``'s weights into the cache unless they are there; return where they are.

    ``url`` replaces torchvision's address (a mirror; the tests' local server)."""
    target = weights_file(arch)
    if target.present:
        return target
    source = url or target.url
    target.path.parent.mkdir(parents=True, exist_ok=True)
    stage = f"downloading {target.path.name}"
    try:
        response = urllib.request.urlopen(source, timeout=TIMEOUT_S)  # noqa: S310 (an https URL from torchvision)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise GradiaError(f"cannot download {source} ({reason}); {target.offline_advice()}") from None
    fd, partial = tempfile.mkstemp(prefix=f".{target.path.name}.", suffix=".part", dir=target.path.parent)
    digest, done = hashlib.sha256(), 0
    try:
        total = int(response.headers.get("Content-Length") or 0)
        with response, os.fdopen(fd, "wb") as out:
            while True:
                stop_if_cancelled(cancelled, stage)
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                report(progress, stage, done, max(total, done))
            out.flush()
            os.fsync(out.fileno())
        if total and done != total:
            raise GradiaError(f"{source}: the download stopped at {done} of {total} bytes; try again")
        if target.hash_prefix and not digest.hexdigest().startswith(target.hash_prefix):
            raise GradiaError(f"{source}: the file's SHA-256 {digest.hexdigest()[:12]}... does not match the "
                              f"{target.hash_prefix} its name promises; nothing was kept")
        os.replace(partial, target.path)
    except (urllib.error.URLError, OSError) as exc:
        raise GradiaError(f"cannot download {source} ({getattr(exc, 'reason', None) or exc}); "
                          f"{target.offline_advice()}") from None
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target
