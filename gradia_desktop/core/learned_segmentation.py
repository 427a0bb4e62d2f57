"""Learned click-to-mask: a Segment-Anything-family model pair in ONNX, provided by the user.

Two files that the user exported or downloaded themselves (nothing is downloaded here): an image
encoder and a prompt decoder, e.g. MobileSAM, EfficientSAM or SAM exported with samexporter or the
segment-anything repository's ``scripts/export_onnx_model.py``, whose interface this follows:

- encoder: one input, the image, (1, 3, S, S) float (or (S, S, 3), (1, S, S, 3), (3, S, S)): the image
  is resized so that its longest side is S, normalised with ImageNet's mean and std in 0-255 units
  (a uint8 input gets the raw pixels: the model normalises) and padded bottom/right to S x S. Its
  outputs (the image embeddings, (1, C, h, w)) are what the decoder takes.
- decoder: ``image_embeddings`` (any input that is not a prompt is fed the encoder output of the same
  name, or the encoder's only unused one), ``point_coords`` (1, N, 2) in the resized image's frame,
  ``point_labels`` (1, N) (1 positive, 0 negative, 2 and 3 a box's corners, -1 the padding point
  added when there is no box), ``mask_input`` (1, 1, 256, 256) and ``has_mask_input`` (1,) zeros,
  ``orig_im_size`` (2,) (H, W). Outputs ``masks`` (1, K, H, W) logits (> 0 is the object) and
  ``iou_predictions`` (1, K): the mask with the highest one is taken. Masks at another size (a
  decoder without ``orig_im_size``) are taken to cover the padded S x S frame and are scaled back.

The embedding is computed once per image (a second or more on a CPU), each click runs the decoder only
(milliseconds). ``compute_embedding`` may be called from any thread, and the GUI calls it off the GUI
thread as soon as an image is shown, then hands the result to each ``LearnedClickSession`` on it.
onnxruntime is imported only when a pair is loaded, so the app runs without it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import GradiaError
from .click_segmentation import Box, Click, box_from_corners

PIXEL_MEAN = np.array([123.675, 116.28, 103.53], np.float32)
PIXEL_STD = np.array([58.395, 57.12, 57.375], np.float32)
DEFAULT_SIZE = 1024  # SAM's input side, for an encoder whose input size is not fixed
PROMPT_INPUTS = ("point_coords", "point_labels", "mask_input", "has_mask_input", "orig_im_size")
_DTYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
           "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(uint8)": np.uint8}


def explain_missing(where: str = "the click-to-mask tool's options") -> str:
    """What the GUI shows while no model pair is set: which two files, that nothing is downloaded, where."""
    return ("Learned click-to-mask uses a Segment-Anything-family model that you provide as two ONNX files: "
            "its image encoder (e.g. mobile_sam_encoder.onnx) and its prompt decoder (e.g. "
            "mobile_sam_decoder.onnx) - for example MobileSAM, EfficientSAM or SAM, exported with samexporter "
            "or the segment-anything repository's scripts/export_onnx_model.py, or downloaded by you. "
            f"GRADIA Desktop downloads nothing. Choose the two files in {where}; until then, clicks use the "
            "built-in colour-based click-to-mask. It also needs onnxruntime (pip install onnxruntime).")


def onnxruntime_available() -> bool:
    """Whether onnxruntime can be imported."""
    try:
        _onnxruntime()
    except GradiaError:
        return False
    return True


def _onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise GradiaError("learned click-to-mask needs onnxruntime, which is not installed: "
                          "pip install onnxruntime") from None
    return onnxruntime


def _open(ort, path: Path, providers: list[str]):
    if not path.exists():
        raise GradiaError(f"{path}: no such file")
    if not path.is_file():
        raise GradiaError(f"{path}: not a file")
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: exports often carry harmless warnings
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as e:  # noqa: BLE001 - onnxruntime raises its own types for every kind of bad file
        raise GradiaError(f"{path}: not a readable ONNX model ({_first_line(e)})") from None


@dataclass(frozen=True)
class Embedding:
    """The encoder's outputs for one image, and how the image was fitted into the encoder's frame."""
    outputs: dict[str, np.ndarray]
    image_shape: tuple[int, int]  # (H, W) of the original image
    resized: tuple[int, int]  # (h, w) of the image inside the S x S frame

    @property
    def scale_xy(self) -> tuple[float, float]:
        """From original pixel coordinates to the encoder frame's, per axis (SAM's apply_coords)."""
        return self.resized[1] / self.image_shape[1], self.resized[0] / self.image_shape[0]


class SamModelPair:
    """A loaded encoder and decoder. Thread-safe: onnxruntime sessions may run on several threads."""

    def __init__(self, encoder_path: str | Path, decoder_path: str | Path, providers: list[str] | None = None):
        ort = _onnxruntime()
        self.encoder_path, self.decoder_path = Path(encoder_path), Path(decoder_path)
        if providers is None:
            providers = ["CPUExecutionProvider"]
            if "CUDAExecutionProvider" in ort.get_available_providers():
                providers.insert(0, "CUDAExecutionProvider")
        self.encoder = _open(ort, self.encoder_path, providers)
        self.decoder = _open(ort, self.decoder_path, providers)
        self._check_encoder()
        self._check_decoder()

    def _check_encoder(self) -> None:
        inputs = self.encoder.get_inputs()
        if len(inputs) != 1:
            raise GradiaError(f"{self.encoder_path}: not a Segment-Anything encoder (it takes {len(inputs)} inputs, "
                              "not one image; were the encoder and decoder swapped?)")
        image = inputs[0]
        shape = list(image.shape)
        layouts = {(4, 1): "NCHW", (4, 3): "NHWC", (3, 0): "CHW", (3, 2): "HWC"}
        layout = next((name for (rank, axis), name in layouts.items() if len(shape) == rank and shape[axis] == 3),
                      None)
        if layout is None:
            raise GradiaError(f"{self.encoder_path}: not a Segment-Anything encoder (its input {image.name} has "
                              f"shape {tuple(shape)}, not (1, 3, S, S) or (S, S, 3))")
        sides = [shape[i] for i, axis in enumerate(layout) if axis in "HW"]
        fixed = [s for s in sides if isinstance(s, int) and s > 0]
        self.layout, self.input_size = layout, max(fixed) if fixed else DEFAULT_SIZE
        self.image_input, self.image_dtype = image.name, _DTYPES.get(image.type, np.float32)

    def _check_decoder(self) -> None:
        inputs = {i.name: i for i in self.decoder.get_inputs()}
        for name in ("point_coords", "point_labels"):
            if name not in inputs:
                raise GradiaError(f"{self.decoder_path}: not a Segment-Anything decoder (no input named {name})")
        self.decoder_inputs = inputs
        wanted = [n for n in inputs if n not in PROMPT_INPUTS]
        produced = [o.name for o in self.encoder.get_outputs()]
        self.embedding_inputs = {n: n for n in wanted if n in produced}  # decoder input -> encoder output
        rest = [n for n in wanted if n not in produced]
        unused = [n for n in produced if n not in self.embedding_inputs.values()]
        if len(rest) == 1 and unused:
            self.embedding_inputs[rest[0]] = unused[0]
        elif rest or not wanted:
            raise GradiaError(f"{self.decoder_path}: does not fit the encoder {self.encoder_path.name} (the decoder "
                              f"takes {', '.join(rest) or 'no image embedding'}; the encoder gives "
                              f"{', '.join(produced)})")
        outputs = [o.name for o in self.decoder.get_outputs()]
        self.masks_output = "masks" if "masks" in outputs else outputs[0]
        self.iou_output = ("iou_predictions" if "iou_predictions" in outputs
                           else outputs[1] if len(outputs) > 1 else None)

    # ---- the two halves -------------------------------------------------------------------------
    def preprocess(self, rgb: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
        """The encoder's input for an RGB image (H x W x 3 uint8), and the resized image's (h, w)."""
        h, w = rgb.shape[:2]
        size = self.input_size
        scale = size / max(h, w)
        nh, nw = int(h * scale + 0.5), int(w * scale + 0.5)  # SAM's ResizeLongestSide
        resized = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        if self.image_dtype == np.uint8:
            image = np.zeros((size, size, 3), np.uint8)
            image[:nh, :nw] = resized
        else:
            image = np.zeros((size, size, 3), np.float32)  # padded after normalising, as SAM does: zeros
            image[:nh, :nw] = (resized.astype(np.float32) - PIXEL_MEAN) / PIXEL_STD
            image = image.astype(self.image_dtype)
        if self.layout in ("NCHW", "CHW"):
            image = image.transpose(2, 0, 1)
        if self.layout.startswith("N"):
            image = image[None]
        return np.ascontiguousarray(image), (nh, nw)

    def embed(self, rgb: np.ndarray) -> Embedding:
        """Run the encoder on one image (the slow half)."""
        rgb = _check_rgb(rgb)
        image, resized = self.preprocess(rgb)
        try:
            values = self.encoder.run(None, {self.image_input: image})
        except Exception as e:  # noqa: BLE001
            raise GradiaError(f"{self.encoder_path}: the encoder failed ({_first_line(e)})") from None
        names = [o.name for o in self.encoder.get_outputs()]
        return Embedding(dict(zip(names, values)), rgb.shape[:2], resized)

    def decode(self, embedding: Embedding, points: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """The mask (bool, H x W) for prompts in original pixel coordinates, SAM's labels; runs the decoder only.

        Without a box (labels 2 and 3) SAM's padding point (0, 0) with label -1 is appended."""
        points = np.asarray(points, np.float32).reshape(-1, 2) * np.asarray(embedding.scale_xy, np.float32)
        labels = np.asarray(labels, np.float32).reshape(-1)
        if not np.isin(labels, (2, 3)).any():
            points = np.concatenate([points, np.zeros((1, 2), np.float32)])
            labels = np.concatenate([labels, np.array([-1], np.float32)])
        h, w = embedding.image_shape
        values = {"point_coords": points[None], "point_labels": labels[None],
                  "has_mask_input": np.zeros(1), "orig_im_size": np.array([h, w])}
        feeds = {}
        for name, arg in self.decoder_inputs.items():
            if name in self.embedding_inputs:
                value = embedding.outputs[self.embedding_inputs[name]]
            elif name == "mask_input":
                shape = [s if isinstance(s, int) and s > 0 else d for s, d in zip(arg.shape, (1, 1, 256, 256))]
                value = np.zeros(shape)
            else:
                value = values[name]
            feeds[name] = np.asarray(value).astype(_DTYPES.get(arg.type, np.float32), copy=False)
        try:
            outputs = dict(zip([o.name for o in self.decoder.get_outputs()], self.decoder.run(None, feeds)))
        except Exception as e:  # noqa: BLE001
            raise GradiaError(f"{self.decoder_path}: the decoder failed ({_first_line(e)})") from None
        masks = np.asarray(outputs[self.masks_output], np.float32)
        masks = masks.reshape(-1, *masks.shape[-2:])
        best = 0
        if self.iou_output is not None:
            iou = np.asarray(outputs[self.iou_output]).reshape(-1)
            best = int(np.argmax(iou)) if iou.size == len(masks) else 0
        logits = masks[best]
        if logits.shape != (h, w):  # a frame of the padded S x S input: crop the image's part, scale it back
            fh, fw = logits.shape
            nh, nw = embedding.resized
            part = logits[:max(1, round(nh * fh / self.input_size)), :max(1, round(nw * fw / self.input_size))]
            logits = cv2.resize(np.ascontiguousarray(part), (w, h), interpolation=cv2.INTER_LINEAR)
        return logits > 0


def compute_embedding(pair: SamModelPair, rgb: np.ndarray) -> Embedding:
    """The image's embedding (the slow half). Safe on any thread: the GUI calls it off the GUI thread."""
    return pair.embed(rgb)


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"click segmentation needs an H x W x 3 uint8 image, got {rgb.shape} {rgb.dtype}")
    return rgb


def _first_line(e: Exception) -> str:
    """onnxruntime's reason, without its "[ONNXRuntimeError] : 7 : ... Load model from PATH failed:" preamble."""
    line = (str(e).strip().splitlines() or [type(e).__name__])[0]
    return (line.rsplit("failed:", 1)[-1].strip() or line)[:200]


class LearnedClickSession:
    """Click-to-mask with a model pair on a mask that may already hold something (as ``ClickSession``).

    Every click (or box) runs the decoder with all the clicks so far; the object found is added to
    ``base``, the mask before the first click, which stays as it was (the eraser takes it away). The
    embedding is computed on first use unless one (from ``compute_embedding``, e.g. on a background
    thread) is given; it may be shared by every session on the same image."""

    def __init__(self, pair: SamModelPair, rgb: np.ndarray, base: np.ndarray | None = None,
                 embedding: Embedding | None = None):
        rgb = _check_rgb(rgb)
        self.pair, self.shape = pair, rgb.shape[:2]
        if base is not None and np.asarray(base).shape != self.shape:
            raise ValueError(f"the mask's shape {np.asarray(base).shape} does not match the image's {self.shape}")
        if embedding is not None and tuple(embedding.image_shape) != self.shape:
            raise ValueError(f"the embedding is for an image of {embedding.image_shape}, not {self.shape}")
        self.base = np.zeros(self.shape, bool) if base is None else np.asarray(base, bool).copy()
        self._rgb = None if embedding is not None else rgb
        self._embedding = embedding
        self._lock = threading.Lock()
        self.clicks: list[Click] = []
        self.box: Box | None = None
        self._found: list[np.ndarray] = []  # the object after each step (a click or a box), for undo
        self._undo_box: list[Box | None | bool] = []  # per step: the box before it, or False for a click
        self.result: np.ndarray | None = None  # the whole mask after the last step

    @property
    def embedded(self) -> bool:
        return self._embedding is not None

    def embed(self) -> Embedding:
        """The image's embedding, computed once (on the calling thread) if it was not given."""
        with self._lock:
            if self._embedding is None:
                self._embedding = compute_embedding(self.pair, self._rgb)
                self._rgb = None
            return self._embedding

    def use_embedding(self, embedding: Embedding) -> None:
        """Take the image's embedding computed elsewhere (``compute_embedding`` on a background thread),
        unless the session holds one already."""
        if tuple(embedding.image_shape) != self.shape:
            raise ValueError(f"the embedding is for an image of {embedding.image_shape}, not {self.shape}")
        with self._lock:
            if self._embedding is None:
                self._embedding, self._rgb = embedding, None

    def mask(self) -> np.ndarray:
        """The whole mask now: ``base`` with the clicks' object added."""
        return (self.base | self._found[-1]) if self._found else self.base.copy()

    def add_click(self, x: float, y: float, positive: bool) -> np.ndarray:
        """One more click (image coordinates, pixel indices); the whole mask. Clicks outside are ignored."""
        px, py = int(round(x)), int(round(y))
        h, w = self.shape
        if not (0 <= px < w and 0 <= py < h):
            return self.mask()
        self.clicks.append(Click(px, py, bool(positive)))
        self._undo_box.append(False)
        return self._step()

    click = add_click  # ClickSession's name, which the click worker calls

    def set_box(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        """Give the object's box (any two corners); the whole mask. The clicks are kept."""
        box = box_from_corners(x0, y0, x1, y1, self.shape)
        if box is None:
            return self.mask()
        self._undo_box.append(self.box)
        self.box = box
        return self._step()

    def undo(self) -> np.ndarray:
        """Take back the last click (or box); the whole mask as it was before it."""
        if self._found:
            self._found.pop()
            self._undo_step()
        self.result = self.mask() if self._found else None
        return self.mask()

    def prompts(self) -> tuple[np.ndarray, np.ndarray]:
        """The clicks and the box as SAM's points (N x 2, original pixels) and labels (before any padding)."""
        points = [(c.x, c.y) for c in self.clicks]
        labels = [1.0 if c.positive else 0.0 for c in self.clicks]
        if self.box is not None:
            x0, y0, x1, y1 = self.box
            points += [(x0, y0), (x1, y1)]  # top-left and bottom-right, as dragged
            labels += [2.0, 3.0]
        return np.array(points, np.float32).reshape(-1, 2), np.array(labels, np.float32)

    def _step(self) -> np.ndarray:
        try:
            found = self.pair.decode(self.embed(), *self.prompts())
        except Exception:
            self._undo_step()
            raise
        self._found.append(found)
        self.result = self.mask()
        return self.result.copy()

    def _undo_step(self) -> None:
        before = self._undo_box.pop()
        if before is False:
            self.clicks.pop()
        else:
            self.box = before
