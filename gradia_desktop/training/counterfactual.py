"""Mask-guided counterfactual augmentation: keep what the expert marked, swap out everything else.

On a masked training image the region outside the mask is replaced by the background of another
masked image drawn at random, so across the counterfactuals the background says nothing about the
class.

Hand-painted masks are loose: their rim holds background pixels that still carry the cue. So the
kept region is not the raw mask but the object found inside it by GrabCut (mask = probable
foreground, outside = certain background), which hugs the object however loose the brush was, less
the enclosed background (a letter's counters) that GrabCut's smoothness keeps. The donor
backgrounds ("plates") are the donor images with their masked region inpainted away.

A mask's "don't look here" layer is replaced too: on an image that also has a "look here" mask it
lies outside the object and goes with the rest of the background (and is filled out of the image's
own plate); on an image whose mask marks only what not to look at, just that region is replaced,
the rest kept: by what another such image has in its "don't look here" region (a ruler, a tag, a
watermark), fitted to this one's box, so that across the counterfactuals what lies there is
independent of the class, as the background is for the masked objects; with no other such image,
by the image's own background.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from ..core.progress import CancelCheck, Progress, report, stop_if_cancelled
from .row_file import GrowingRows

BUILD_CHUNK = 256  # masked images prepared between appends to a bank held in memory
FILE_CHUNK = 32  # ... and between writes to a bank kept in scratch files: a chunk is held twice while written
MIN_KEEP_SHARE = 0.15  # a GrabCut result smaller than this share of the mask is not trusted
MOSAIC_TILES = 4  # a mosaic plate is a MOSAIC_TILES x MOSAIC_TILES grid of tiles from two plates
BACKGROUND_MARGIN = 2.0  # log likelihood ratio beyond which a kept pixel's colour is taken for background


def tighten_mask(rgb: np.ndarray, mask: np.ndarray, iterations: int = 4) -> np.ndarray:
    """The object inside a loose mask (bool, same size), or the mask eroded where GrabCut fails."""
    mask = np.asarray(mask, bool)
    area = int(mask.sum())
    fallback = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    if area < 16 or area > 0.9 * mask.size:
        return fallback if fallback.any() else mask
    labels = np.where(mask, cv2.GC_PR_FGD, cv2.GC_BGD).astype(np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(np.ascontiguousarray(rgb[..., ::-1]), labels, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return fallback
    keep = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
    if keep.sum() < MIN_KEEP_SHARE * area:
        return fallback
    return keep & mask


def object_region(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The pixels to keep, as uint8 0/1: the object GrabCut finds inside the mask, whole, less the
    enclosed background its smoothness term kept (``drop_background_colours``).

    It is not eroded further: the cut already hugs the object, and a thinner object is a different
    object. Eroding one pixel more cost a quarter of a disc and half of a letter's stroke, and on
    120 paired runs of the efficacy suite keeping the whole object raised guided test accuracy by
    0.013 on average (better in 80, worse in 32; docs/algorithm.md). Where GrabCut fails the mask
    itself is eroded (``tighten_mask``), since then its rim is all that is known to be background.
    """
    mask = np.asarray(mask, bool)
    return drop_background_colours(rgb, mask, tighten_mask(rgb, mask)).astype(np.uint8)


def _gaussian_log_likelihood(x: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Log density (up to a shared constant) of each colour in ``x`` (n, 3) under one Gaussian fitted to
    ``points`` (m, 3); the covariance is widened by 4 (a 2-level standard deviation) so that a flat
    region does not make it singular."""
    mean, cov = points.mean(axis=0), np.cov(points.T) + 4 * np.eye(3)
    d = x - mean
    return -0.5 * np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d) - 0.5 * np.log(np.linalg.det(cov))


def drop_background_colours(rgb: np.ndarray, mask: np.ndarray, keep: np.ndarray, rounds: int = 2) -> np.ndarray:
    """``keep`` (bool) less the pixels whose colour the certain background (outside ``mask``) explains
    better than the kept region does, by a likelihood ratio above e^``BACKGROUND_MARGIN`` (one Gaussian
    colour model each; the kept region's refitted each round on what is left).

    GrabCut's smoothness term keeps small enclosed background: a letter's counters, the gaps between
    a thin object's strokes. That background still carries the cue, into every counterfactual and
    every probe copy, where neither the training nor the probe can see it: on the efficacy suite's
    faint letters a sixth of the kept pixels were such background. Where more than half of the kept
    region would go, the colours do not separate object from background and ``keep`` is returned."""
    keep = np.asarray(keep, bool)
    background = rgb[~mask].astype(np.float64)
    if keep.sum() < 16 or len(background) < 16:
        return keep
    where = np.nonzero(keep)
    colours = rgb[where].astype(np.float64)
    behind = _gaussian_log_likelihood(colours, background)
    kept = np.ones(len(colours), bool)
    for _ in range(rounds):
        if kept.sum() < 16:
            break
        kept = behind - _gaussian_log_likelihood(colours, colours[kept]) <= BACKGROUND_MARGIN
    if kept.sum() < 0.5 * len(colours):
        return keep
    out = np.zeros_like(keep)
    out[where[0][kept], where[1][kept]] = True
    return out


def background_plate(rgb: np.ndarray, mask: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """The image with its masked region (grown by a few pixels) filled with its own background.

    The hole is filled by copying a same-shaped patch from elsewhere in the image that holds no
    masked pixel, so the fill keeps the background's texture and noise. A smooth inpainted blob
    would not do: the network learns "a blob means the background lies" and ignores the lesson.
    Where no such patch exists, inpainting plus noise of the background's strength stands in.
    """
    rng = rng or np.random.default_rng(0)
    h, w = mask.shape
    grow = max(1, round(h / 32))
    hole = cv2.dilate(mask.astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)).astype(bool)
    ys, xs = np.nonzero(hole)
    if len(ys) == 0:
        return rgb.copy()
    out = rgb.copy()
    for _ in range(200):
        dy, dx = int(rng.integers(-h + 1, h)), int(rng.integers(-w + 1, w))
        sy, sx = ys + dy, xs + dx
        if sy.min() < 0 or sx.min() < 0 or sy.max() >= h or sx.max() >= w or hole[sy, sx].any():
            continue
        out[ys, xs] = rgb[sy, sx]
        return out
    filled = cv2.inpaint(np.ascontiguousarray(rgb), hole.astype(np.uint8), 3, cv2.INPAINT_TELEA).astype(np.float32)
    smooth = cv2.GaussianBlur(rgb.astype(np.float32), (5, 5), 0)
    noise_std = float((rgb.astype(np.float32) - smooth)[~hole].std()) if (~hole).any() else 0.0
    filled[hole] += rng.normal(0, noise_std, size=(len(ys), 3))
    return np.clip(filled, 0, 255).astype(np.uint8)


class CounterfactualBank:
    """Precomputed object regions and background plates for the masked training images."""

    def __init__(self, images, labels: torch.Tensor, masks, has_mask: torch.Tensor, progress: Progress = None,
                 cancelled: CancelCheck = None, scratch: Path | None = None, avoid=None,
                 has_avoid: torch.Tensor | None = None, mosaic_share: float = 0.0):
        """Prepare every masked image (GrabCut and a plate each); ``cancelled`` is asked before each.

        ``images`` and ``masks`` are a split's (in memory or streamed); with ``scratch`` (a folder) the
        regions and plates are kept in files there rather than in memory, until ``discard``. ``avoid``
        and ``has_avoid``: the split's "don't look here" layers, if any. ``mosaic_share``: the share of
        training swaps whose plate is a mosaic of two (``_mosaic``)."""
        self.mosaic_share = mosaic_share
        self.index = torch.nonzero(has_mask).flatten()
        self.position = {int(i): k for k, i in enumerate(self.index)}
        n = len(self.index)
        size = images.shape[-1]
        rng = np.random.default_rng(0)
        cv2.setRNGSeed(0)  # GrabCut's k-means draws from OpenCV's global RNG
        self.keep = GrowingRows(size, size, 1, scratch / "keep.u8" if scratch else None)
        self.plates = GrowingRows(size, size, 3, scratch / "plates.u8" if scratch else None)
        step = FILE_CHUNK if scratch else BUILD_CHUNK
        for start in range(0, n, step):
            chunk = self.index[start:start + step].tolist()
            keep = np.zeros((len(chunk), size, size), np.uint8)
            plates = np.zeros((len(chunk), size, size, 3), np.uint8)
            for j, i in enumerate(chunk):
                stop_if_cancelled(cancelled, "preparing counterfactual backgrounds")
                rgb = images[i].permute(1, 2, 0).numpy()
                mask = masks[i].numpy()
                keep[j] = object_region(rgb, mask)
                ruled_out = avoid[i].numpy() if has_avoid is not None and has_avoid[i] else False
                plates[j] = background_plate(rgb, mask | ruled_out, rng)
                done = start + j + 1
                if done % 16 == 0 or done == n:
                    report(progress, "preparing counterfactual backgrounds", done, n)
            self.keep.append(keep)
            self.plates.append(plates)
        self.labels = labels[self.index]  # the first len(self.plates) are the plates' own
        self.fills = GrowingRows(size, size, 3, scratch / "fills.u8" if scratch else None)
        self.fill_row: dict[int, int] = {}  # bank position -> its row in self.fills
        # bank position -> (box y0, y1, x0, x1; the layer and the image's pixels inside the box)
        self.ruled_out: dict[int, tuple[tuple[int, int, int, int], np.ndarray, np.ndarray]] = {}
        self._ruled_out_order: list[int] = []  # their bank positions, and each one's place in that list
        self._ruled_out_rank: dict[int, int] = {}
        if has_avoid is not None:
            self._add_avoid_only(images, labels, avoid, has_avoid & ~has_mask, rng, progress, cancelled)

    def _add_avoid_only(self, images, labels: torch.Tensor, avoid, which: torch.Tensor, rng: np.random.Generator,
                        progress: Progress, cancelled: CancelCheck) -> None:
        """Images whose mask says only "don't look here": each keeps its image outside that region, a
        refill of the region from its own background (``background_plate``, used when there is no other
        such image) and what the region holds (a donor for the others, ``_replace_ruled_out``). Their
        backgrounds are no donor plates: the object is still in them."""
        new = torch.nonzero(which).flatten().tolist()
        size = self.keep.hwc[0]
        for start in range(0, len(new), FILE_CHUNK):
            chunk = new[start:start + FILE_CHUNK]
            keep = np.zeros((len(chunk), size, size), np.uint8)
            fills = np.zeros((len(chunk), size, size, 3), np.uint8)
            for j, i in enumerate(chunk):
                stop_if_cancelled(cancelled, "preparing counterfactual backgrounds")
                rgb = images[i].permute(1, 2, 0).numpy()
                ruled_out = avoid[i].numpy()
                fills[j] = background_plate(rgb, ruled_out, rng)
                keep[j] = (fills[j] == rgb).all(axis=-1)
                ys, xs = np.nonzero(ruled_out)
                box = (int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1)
                position = len(self.index) + j
                self.ruled_out[position] = (box, ruled_out[box[0]:box[1], box[2]:box[3]].copy(),
                                            rgb[box[0]:box[1], box[2]:box[3]].copy())
                self._ruled_out_rank[position] = len(self._ruled_out_order)
                self._ruled_out_order.append(position)
                report(progress, "refilling \"don't look here\" regions", start + j + 1, len(new))
            first = len(self.index)
            self.fill_row.update({first + j: len(self.fills) + j for j in range(len(chunk))})
            self.position.update({i: first + j for j, i in enumerate(chunk)})
            self.index = torch.cat([self.index, torch.tensor(chunk, dtype=self.index.dtype)])
            self.keep.append(keep)
            self.fills.append(fills)
            self.labels = torch.cat([self.labels, labels[chunk]])

    def discard(self) -> None:
        """Remove the scratch files, if any."""
        self.keep.discard()
        self.plates.discard()
        self.fills.discard()

    def adopt(self, images: torch.Tensor, labels: torch.Tensor, proposals: dict[int, np.ndarray],
              progress: Progress = None, cancelled: CancelCheck = None) -> int:
        """Add images with proposed (not expert) masks as objects to keep, and return how many were added
        (those already here are skipped).

        Their backgrounds do not become plates: a proposal that missed part of the object would leave
        that part in the plate, and pasting it behind an object of the other class teaches a wrong label.
        """
        new = [i for i in sorted(proposals) if i not in self.position]
        if not new:
            return 0
        cv2.setRNGSeed(len(self.index))
        size = self.keep.hwc[0]
        keep = np.zeros((len(new), size, size), np.uint8)
        for k, i in enumerate(new):
            stop_if_cancelled(cancelled, "adopting proposed masks")
            keep[k] = object_region(images[i].permute(1, 2, 0).numpy(), proposals[i])
            if (k + 1) % 16 == 0 or k + 1 == len(new):
                report(progress, "adopting proposed masks", k + 1, len(new))
        start = len(self.index)
        self.index = torch.cat([self.index, torch.tensor(new, dtype=self.index.dtype)])
        self.position.update({i: start + k for k, i in enumerate(new)})
        self.keep.append(keep)
        self.labels = torch.cat([self.labels, labels[new]])
        return len(new)

    def __len__(self) -> int:
        return len(self.index)

    def _ruled_out_donor(self, k: int, generator: torch.Generator) -> int | None:
        """Another image whose mask marks only "don't look here", drawn at random; None without one."""
        order = self._ruled_out_order
        if len(order) < 2:
            return None
        pick = int(torch.randint(len(order) - 1, (1,), generator=generator))
        return order[pick + (pick >= self._ruled_out_rank[k])]  # never its own

    def _replace_ruled_out(self, k: int, donor: int | None, image: torch.Tensor) -> torch.Tensor:
        """``image`` (3, S, S uint8) with its "don't look here" region refilled from its own background,
        then, with a ``donor``, what the donor has in its region, fitted to this one's box."""
        keep = self.keep[k].float()
        mixed = keep * image.float() + (1 - keep) * self.fills[self.fill_row[k]].float()
        if donor is not None:
            (y0, y1, x0, x1), layer, _ = self.ruled_out[k]
            _, donor_layer, donor_pixels = self.ruled_out[donor]
            shape = (y1 - y0, x1 - x0)
            inside = layer & _fitted(donor_layer.astype(np.uint8), shape).astype(bool)
            patch = torch.from_numpy(_fitted(donor_pixels, shape)).permute(2, 0, 1).float()
            region = mixed[:, y0:y1, x0:x1]
            where = torch.from_numpy(inside)
            mixed[:, y0:y1, x0:x1] = torch.where(where, patch, region)
        return mixed.round().clamp_(0, 255).to(torch.uint8)

    def apply(self, batch_index: torch.Tensor, batch_images: torch.Tensor, generator: torch.Generator,
              donors: str = "any", rows: torch.Tensor | None = None) -> torch.Tensor:
        """Return ``batch_images`` (uint8) with every masked sample's background swapped (a copy where
        any is swapped; the tensor itself where none is).

        ``donors="any"`` draws the new background from any other masked image, so across the
        counterfactuals the background is independent of the class (training). ``"other-class"``
        draws it from another class only, so the background contradicts the object (the shortcut
        probe's test). Training on the latter would teach the reversed cue.

        ``rows``: in a distributed run, ``batch_index`` is the whole batch and ``batch_images`` hold
        only these rows of it (this process's share). The random draws are made for the whole batch
        on every process, so their generators stay in step and each image gets the background it
        would get in a run on one process.
        """
        plates = len(self.plates)
        out = None  # a copy, made at the first swap; a batch without a masked image is returned as it is
        place = None if rows is None else {int(r): j for j, r in enumerate(rows.tolist())}
        for row, i in enumerate(batch_index.tolist()):
            k = self.position.get(i)
            if k is None:
                continue
            if k in self.fill_row:
                donor = self._ruled_out_donor(k, generator)  # drawn on every process, so they stay in step
                j = row if place is None else place.get(row)
                if j is not None:
                    out = _copy_keeping_pinned(batch_images) if out is None else out
                    out[j] = self._replace_ruled_out(k, donor, batch_images[j])
                continue
            if plates < 2:  # no other background to swap in
                continue
            pool = torch.nonzero(self.labels[:plates] != self.labels[k]).flatten() if donors == "other-class" else None
            if pool is None or len(pool) == 0:
                if k < plates:  # never its own background (adopted images have none among the plates)
                    donor = int(torch.randint(plates - 1, (1,), generator=generator))
                    donor += donor >= k
                else:
                    donor = int(torch.randint(plates, (1,), generator=generator))
            else:
                donor = int(pool[torch.randint(len(pool), (1,), generator=generator)])
            flip = bool(torch.rand(1, generator=generator) < 0.5)
            mosaic = None
            if self.mosaic_share and donors == "any" and float(torch.rand(1, generator=generator)) < self.mosaic_share:
                second = int(torch.randint(plates - 1 if k < plates else plates, (1,), generator=generator))
                second += k < plates and second >= k  # never its own background either
                mosaic = (second, torch.rand(MOSAIC_TILES, MOSAIC_TILES, generator=generator) < 0.5)
            j = row if place is None else place.get(row)
            if j is None:
                continue
            plate = self.plates[donor].float()
            if mosaic is not None:
                plate = _mosaic(plate, self.plates[mosaic[0]].float(), mosaic[1])
            if flip:
                plate = plate.flip(-1)
            keep = self.keep[k].float()
            mixed = keep * batch_images[j].float() + (1 - keep) * plate
            if out is None:
                out = _copy_keeping_pinned(batch_images)
            out[j] = mixed.round().clamp_(0, 255).to(torch.uint8)
        return batch_images if out is None else out


def _mosaic(plate: torch.Tensor, other: torch.Tensor, tiles: torch.Tensor) -> torch.Tensor:
    """``plate`` with the tiles where ``tiles`` is False taken from ``other``, shifted to ``plate``'s mean
    colour (3, S, S float).

    A background that changes pattern from tile to tile belongs to no class, and a cue that covers
    the whole background (a texture) is cut into pieces of both classes'. The other plate is shifted
    to this one's mean colour because a tile edge between two brightnesses is a strong edge, stronger
    than a faint object's (the unshifted mosaic cost the faint objects on the efficacy suite)."""
    other = other - other.mean(dim=(1, 2), keepdim=True) + plate.mean(dim=(1, 2), keepdim=True)
    where = torch.nn.functional.interpolate(tiles.float()[None, None], size=plate.shape[-2:], mode="nearest")[0]
    return where * plate + (1 - where) * other.clamp(0, 255)


def _fitted(patch: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``patch`` resized to (h, w) by nearest neighbour (a tag's hard edges stay hard)."""
    h, w = shape
    return patch if patch.shape[:2] == (h, w) else cv2.resize(patch, (w, h), interpolation=cv2.INTER_NEAREST)


def _copy_keeping_pinned(images: torch.Tensor) -> torch.Tensor:
    """A copy, page-locked where ``images`` is (a batch read for a GPU stays fit for a non-blocking copy)."""
    pinned = images.device.type == "cpu" and torch.cuda.is_available() and images.is_pinned()
    return torch.empty_like(images, pin_memory=pinned).copy_(images) if pinned else images.clone()
