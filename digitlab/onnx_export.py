"""Write a digit model as ONNX, layer by layer, for runtimes without TensorFlow (onnxruntime).

digitlab's digit architectures are chains of Conv2D, BatchNormalization, ReLU, Dropout,
Flatten and Dense layers, so each maps to one or two ONNX operators; no converter package (and
none of its version pins) is needed, only `onnx`. The graph takes the Keras input as it is,
float32 (N, 28, 28, 1), works in ONNX's channels-first layout, and turns back to channels-last
before Flatten so the Dense weights apply unchanged. Anything else is refused by name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

OPSET = 17
ACTIVATIONS = {"relu": "Relu", "softmax": "Softmax", "sigmoid": "Sigmoid", "linear": None}


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "same" padding (before, after) along one axis."""
    output = -(-size // stride)
    total = max((output - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class GraphBuilder:
    """Collects ONNX nodes and weights while walking the Keras layers in order."""

    def __init__(self):
        self.nodes, self.weights, self.count = [], [], 0

    def name(self, stem: str) -> str:
        """A fresh tensor name."""
        self.count += 1
        return f"{stem}_{self.count}"

    def weight(self, stem: str, value: np.ndarray) -> str:
        """Add a float32 initializer and return its name."""
        from onnx import numpy_helper

        name = self.name(stem)
        self.weights.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def node(self, operator: str, inputs: list[str], stem: str, **attributes) -> str:
        """Add one node; return its output's name."""
        from onnx import helper

        output = self.name(stem)
        self.nodes.append(helper.make_node(operator, inputs, [output], **attributes))
        return output

    def activation(self, tensor: str, activation: str, stem: str) -> str:
        """Apply a Keras activation by name (linear: nothing)."""
        if activation not in ACTIVATIONS:
            raise ValueError(f"{stem}: activation {activation!r} has no ONNX export")
        operator = ACTIVATIONS[activation]
        if operator is None:
            return tensor
        return self.node(operator, [tensor], stem, **({"axis": 1} if operator == "Softmax" else {}))


def convert_layer(builder: GraphBuilder, layer, tensor: str, channels_first: bool):
    """Add one Keras layer; return (output tensor, whether it is channels-first now)."""
    kind, config = type(layer).__name__, layer.get_config()
    if kind in ("InputLayer", "Dropout"):
        return tensor, channels_first
    if kind == "Conv2D":
        if not channels_first:
            tensor = builder.node("Transpose", [tensor], "to_nchw", perm=[0, 3, 1, 2])
        kernel, *bias = layer.get_weights()
        (height, width), strides = config["kernel_size"], config["strides"]
        pads = [0, 0, 0, 0]
        if config["padding"] == "same":
            size_h, size_w = layer.input.shape[1], layer.input.shape[2]
            top, bottom = same_padding(size_h, height, strides[0])
            left, right = same_padding(size_w, width, strides[1])
            pads = [top, left, bottom, right]
        inputs = [tensor, builder.weight("kernel", kernel.transpose(3, 2, 0, 1))]
        inputs += [builder.weight("bias", bias[0])] if bias else []
        tensor = builder.node("Conv", inputs, layer.name, kernel_shape=[height, width],
                              strides=list(strides), pads=pads)
        return builder.activation(tensor, config["activation"], layer.name), True
    if kind == "BatchNormalization":
        gamma, beta, mean, variance = layer.get_weights()
        inputs = [tensor] + [builder.weight(stem, value) for stem, value in
                             (("gamma", gamma), ("beta", beta), ("mean", mean),
                              ("variance", variance))]
        return builder.node("BatchNormalization", inputs, layer.name,
                            epsilon=float(config["epsilon"])), channels_first
    if kind == "ReLU":
        if config.get("max_value") is not None or config.get("negative_slope") or \
                config.get("threshold"):
            raise ValueError(f"{layer.name}: only a plain ReLU has an ONNX export")
        return builder.node("Relu", [tensor], layer.name), channels_first
    if kind == "Flatten":
        if channels_first:  # Keras flattens channels-last: keep its order for the Dense weights
            tensor = builder.node("Transpose", [tensor], "to_nhwc", perm=[0, 2, 3, 1])
        return builder.node("Flatten", [tensor], layer.name, axis=1), False
    if kind == "Dense":
        kernel, *bias = layer.get_weights()
        inputs = [tensor, builder.weight("kernel", kernel)]
        inputs += [builder.weight("bias", bias[0] if bias else np.zeros(kernel.shape[1]))]
        tensor = builder.node("Gemm", inputs, layer.name)
        return builder.activation(tensor, config["activation"], layer.name), False
    raise ValueError(f"layer {layer.name!r} ({kind}) has no ONNX export; it takes the chain "
                     "architectures (baseline, fast, default: Conv2D, BatchNormalization, ReLU, "
                     "Dropout, Flatten, Dense), not residual")


def convert_chain(builder: GraphBuilder, model, tensor: str = "image") -> str:
    """Add a chain of supported layers, fed by tensor; the name of its output."""
    channels_first = False
    for layer in model.layers:
        if len(layer._inbound_nodes) > 1 or (type(layer).__name__ != "InputLayer" and
                                             len(layer.input if isinstance(layer.input, list)
                                                 else [layer.input]) != 1):
            raise ValueError(f"layer {layer.name!r} is not part of a simple chain")
        tensor, channels_first = convert_layer(builder, layer, tensor, channels_first)
    return tensor


def to_onnx(model):
    """The ONNX ModelProto of a Keras digit model: a chain of supported layers, or an ensemble
    of such chains whose probabilities an ONNX Mean averages."""
    from onnx import TensorProto, checker, helper

    from digitlab.ensemble import ensemble_members

    builder, members = GraphBuilder(), ensemble_members(model)
    if members:
        tensor = builder.node("Mean", [convert_chain(builder, member) for member in members],
                              "ensemble")
    else:
        tensor = convert_chain(builder, model)
    builder.nodes.append(helper.make_node("Identity", [tensor], ["probabilities"]))
    outputs = model.output_shape[-1]
    graph = helper.make_graph(
        builder.nodes, model.name,
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", *model.input_shape[1:]])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", outputs])],
        builder.weights)
    proto = helper.make_model(graph, producer_name="digitlab",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    proto.ir_version = 8  # readable by onnxruntime 1.14 and later
    checker.check_model(proto)
    return proto


def write_onnx(model, path: str | Path) -> Path:
    """Write the model's ONNX file."""
    path = Path(path)
    path.write_bytes(to_onnx(model).SerializeToString())
    return path
