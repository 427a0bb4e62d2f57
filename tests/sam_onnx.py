"""A tiny random Segment-Anything-shaped ONNX pair, written by the tests that need one (onnx required).

The encoder (input 64 x 64) average-pools to 16 x 16 and applies a random 1x1 convolution: embeddings
(1, 8, 16, 16); it also hands its input back as ``image_echo``, so the preprocessing can be checked.
The decoder takes SAM's named inputs and returns two masks at ``orig_im_size``: discs of radius 4 and
12 (in the encoder's frame) around the mean of the positive points, with iou_predictions (0.2, 0.9),
so the larger disc is the one to pick, and it lands on the click only if the clicks were scaled
into the encoder's frame.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

S = 64  # the encoder's input side
FLOAT = TensorProto.FLOAT


def save_model(path, nodes, inputs, outputs, initializers=()):
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def write_encoder(path, layout="NCHW"):
    shape = {"NCHW": [1, 3, S, S], "HWC": [S, S, 3]}[layout]
    weight = numpy_helper.from_array(np.random.default_rng(0).normal(size=(8, 3, 1, 1)).astype(np.float32), "w")
    nodes = [helper.make_node("Identity", ["image"], ["image_echo"])]
    if layout == "HWC":
        nodes += [helper.make_node("Transpose", ["image"], ["chw"], perm=[2, 0, 1]),
                  helper.make_node("Unsqueeze", ["chw", "zero"], ["nchw"])]
        weight_inits = [weight, numpy_helper.from_array(np.array([0], np.int64), "zero")]
    else:
        nodes += [helper.make_node("Identity", ["image"], ["nchw"])]
        weight_inits = [weight]
    nodes += [helper.make_node("AveragePool", ["nchw"], ["pooled"], kernel_shape=[4, 4], strides=[4, 4]),
              helper.make_node("Conv", ["pooled", "w"], ["image_embeddings"])]
    return save_model(path, nodes, [helper.make_tensor_value_info("image", FLOAT, shape)],
                 [helper.make_tensor_value_info("image_embeddings", FLOAT, [1, 8, 16, 16]),
                  helper.make_tensor_value_info("image_echo", FLOAT, shape)], weight_inits)


def write_decoder(path, with_size=True, coords_name="point_coords"):
    """Discs around the positive points' mean; at orig_im_size, or (without it) on a 256 x 256 padded frame."""
    c = lambda name, value: numpy_helper.from_array(np.asarray(value, np.float32), name)  # noqa: E731
    i = lambda name, value: numpy_helper.from_array(np.asarray(value, np.int64), name)  # noqa: E731
    inits = [c("one", 1.0), c("zero_f", 0.0), c("side", float(S)), c("r0", 16.0), c("r1", 144.0),
             c("iou", [[0.2, 0.9]]), i("i0", 0), i("i1", 1), i("ax0", [0]), i("ax1", [1])]
    n = helper.make_node
    nodes = [] if with_size else [n("Constant", [], ["orig_im_size"], value=c("size_value", [256.0, 256.0]))]
    nodes += [
        n("Gather", ["orig_im_size", "i0"], ["H"]), n("Gather", ["orig_im_size", "i1"], ["W"]),
        n("Max", ["H", "W"], ["M"]), n("Div", ["side", "M"], ["s"]),
        n("Range", ["zero_f", "H", "one"], ["ys"]), n("Range", ["zero_f", "W", "one"], ["xs"]),
        n("Equal", ["point_labels", "one"], ["is_pos"]), n("Cast", ["is_pos"], ["pos"], to=FLOAT),
        n("Gather", [coords_name, "i0"], ["px"], axis=2), n("Gather", [coords_name, "i1"], ["py"], axis=2),
        n("Mul", ["px", "pos"], ["wx"]), n("Mul", ["py", "pos"], ["wy"]),
        n("ReduceSum", ["wx"], ["sx"], keepdims=0), n("ReduceSum", ["wy"], ["sy"], keepdims=0),
        n("ReduceSum", ["pos"], ["npos"], keepdims=0),
        n("Div", ["sx", "npos"], ["cx"]), n("Div", ["sy", "npos"], ["cy"]),
        n("Mul", ["xs", "s"], ["xs_s"]), n("Mul", ["ys", "s"], ["ys_s"]),
        n("Sub", ["xs_s", "cx"], ["dx"]), n("Sub", ["ys_s", "cy"], ["dy"]),
        n("Mul", ["dx", "dx"], ["dx2"]), n("Mul", ["dy", "dy"], ["dy2"]),
        n("Unsqueeze", ["dy2", "ax1"], ["dy2c"]), n("Unsqueeze", ["dx2", "ax0"], ["dx2r"]),
        n("Add", ["dy2c", "dx2r"], ["d2"]),
        n("Sub", ["r0", "d2"], ["m0"]), n("Sub", ["r1", "d2"], ["m1"]),
        n("Unsqueeze", ["m0", "ax0"], ["m0u"]), n("Unsqueeze", ["m1", "ax0"], ["m1u"]),
        n("Concat", ["m0u", "m1u"], ["m01"], axis=0), n("Unsqueeze", ["m01", "ax0"], ["masks"]),
        n("ReduceMean", ["image_embeddings"], ["emb_mean"], keepdims=0),
        n("Mul", ["emb_mean", "zero_f"], ["nothing"]), n("Add", ["iou", "nothing"], ["iou_predictions"]),
        n("Concat", ["mask_input", "mask_input"], ["low_res_masks"], axis=1),
    ]
    inputs = [helper.make_tensor_value_info("image_embeddings", FLOAT, [1, 8, 16, 16]),
              helper.make_tensor_value_info(coords_name, FLOAT, [1, "n", 2]),
              helper.make_tensor_value_info("point_labels", FLOAT, [1, "n"]),
              helper.make_tensor_value_info("mask_input", FLOAT, [1, 1, 256, 256]),
              helper.make_tensor_value_info("has_mask_input", FLOAT, [1])]
    if with_size:
        inputs.append(helper.make_tensor_value_info("orig_im_size", FLOAT, [2]))
    outputs = [helper.make_tensor_value_info("masks", FLOAT, [1, 2, "h", "w"]),
               helper.make_tensor_value_info("iou_predictions", FLOAT, [1, 2]),
               helper.make_tensor_value_info("low_res_masks", FLOAT, [1, 2, 256, 256])]
    return save_model(path, nodes, inputs, outputs, inits)
