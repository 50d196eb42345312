"""Rebuild a csbdeep CARE Keras network as a plain TensorFlow 1.x graph.

Only the trained Keras model's weights are used. The network is walked from
its output back to its input, each layer is described as plain data (NumPy
weights read in eager mode, where ``get_weights`` works), and then the same
computation is written into a ``tf.compat.v1`` graph from the raw ops listed in
:mod:`lumicare_ij.export.tf1_ops`: weights become ``Const`` nodes (no
variables, hence no ``VarHandleOp`` and no saver), the residual sum is ``Add``
(``AddV2`` is unknown before TF 1.14), nearest-neighbour upsampling is
``ResizeNearestNeighbor`` in 2D and ``ConcatV2`` + ``Reshape`` in 3D, which
keeps every tensor at rank <= 5.

Walking the actual Keras graph, rather than re-deriving the U-Net from
``config.json``, reproduces csbdeep's layout exactly (concatenation order
[upsampled, skip], residual added before the last activation, probabilistic
scale branch taken from the last U-Net block) whatever csbdeep version built it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ExportError

#: Keras activation name -> TF op (None: the identity, no node).
#: (csbdeep's CARE allows 'linear' or 'relu' last; softplus is the probabilistic scale.)
ACTIVATION_OPS = {"linear": None, "relu": "Relu", "softplus": "Softplus"}


@dataclass
class Step:
    """One layer of the network as plain data, ready to be written as TF ops."""

    name: str
    kind: str                     # input | conv | maxpool | upsample | concat | add | activation | shift
    inputs: list[str] = field(default_factory=list)
    params: dict = field(default_factory=dict)


# --------------------------------------------------------------------------
# Keras -> plain steps (eager mode)
# --------------------------------------------------------------------------

def describe_keras_model(keras_model, output_tensor=None) -> tuple[list[Step], str]:
    """Describe a Keras CARE network as a topologically ordered list of steps.

    Parameters
    ----------
    keras_model : keras.Model
        A functional model with one input (csbdeep's ``CARE.keras_model``).
    output_tensor : KerasTensor, optional
        The tensor to export; the model's single output by default. Passing an
        intermediate tensor drops every branch it does not depend on.

    Returns
    -------
    steps : list of Step
        Each step after the steps it reads from.
    output_name : str
        Name of the step that produces the exported tensor.

    Raises
    ------
    ExportError
        For a layer this translator does not know (for example
        BatchNormalization) or a layer configuration it cannot reproduce.
    """
    if len(keras_model.inputs) != 1 or len(keras_model.outputs) != 1:
        raise ExportError(
            f"The network has {len(keras_model.inputs)} inputs and {len(keras_model.outputs)} "
            "outputs; the Fiji plugin needs exactly one of each (a csbdeep CARE network).")
    if output_tensor is None:
        output_tensor = keras_model.outputs[0]
    steps: dict[str, Step] = {}
    order: list[str] = []

    def visit(tensor) -> str:
        layer = tensor._keras_history[0]
        name = layer.name
        if name in steps:
            return name
        inputs = [] if _is_input_layer(layer) else [visit(t) for t in _layer_inputs(layer)]
        steps[name] = _describe_layer(layer, inputs)
        order.append(name)
        return name

    output_name = visit(output_tensor)
    return [steps[n] for n in order], output_name


def _is_input_layer(layer) -> bool:
    return type(layer).__name__ == "InputLayer"


def _layer_inputs(layer) -> list:
    inputs = layer.input
    return list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]


def _untranslatable(layer, why: str) -> ExportError:
    return ExportError(
        f"Layer {layer.name!r} ({type(layer).__name__}) cannot be exported for Fiji: {why}. "
        "Only csbdeep CARE U-Nets (Conv, MaxPooling, UpSampling, Concatenate, Add, Activation, "
        "and the probabilistic scale offset) are supported; retrain with a standard CARE config.")


def _describe_layer(layer, inputs: list[str]) -> Step:
    kind = type(layer).__name__
    cfg = layer.get_config()
    if cfg.get("data_format", "channels_last") != "channels_last":
        raise _untranslatable(layer, f"data_format {cfg['data_format']!r}; only channels_last is supported")

    if kind == "InputLayer":
        shape = tuple(layer.output.shape)
        if shape[-1] is None:
            raise _untranslatable(layer, "the channel count is not fixed")
        return Step(layer.name, "input", [], {"shape": shape})

    if kind in ("Conv2D", "Conv3D"):
        n_dim = 2 if kind == "Conv2D" else 3
        if any(s != 1 for s in _tuple(cfg["strides"], n_dim)) or \
           any(d != 1 for d in _tuple(cfg["dilation_rate"], n_dim)) or cfg.get("groups", 1) != 1:
            raise _untranslatable(layer, "only stride 1, dilation 1, groups 1 convolutions are supported")
        weights = [np.asarray(w, dtype=np.float32) for w in layer.get_weights()]
        bias = weights[1] if cfg.get("use_bias", True) else None
        return Step(layer.name, "conv", inputs, {
            "n_dim": n_dim, "kernel": weights[0], "bias": bias,
            "padding": cfg["padding"].upper(),
            "activation": _activation_op(layer, cfg["activation"])})

    if kind in ("MaxPooling2D", "MaxPooling3D"):
        n_dim = 2 if kind == "MaxPooling2D" else 3
        return Step(layer.name, "maxpool", inputs, {
            "n_dim": n_dim, "pool": _tuple(cfg["pool_size"], n_dim),
            "strides": _tuple(cfg["strides"] or cfg["pool_size"], n_dim),
            "padding": cfg["padding"].upper()})

    if kind in ("UpSampling2D", "UpSampling3D"):
        n_dim = 2 if kind == "UpSampling2D" else 3
        if cfg.get("interpolation", "nearest") != "nearest":
            raise _untranslatable(layer, f"interpolation {cfg['interpolation']!r}; only 'nearest' is supported")
        return Step(layer.name, "upsample", inputs, {"n_dim": n_dim, "size": _tuple(cfg["size"], n_dim)})

    if kind == "Concatenate":
        rank = len(layer.output.shape)
        axis = cfg["axis"] % rank
        if axis != rank - 1:
            raise _untranslatable(layer, f"concatenation along axis {cfg['axis']}; only channels are supported")
        return Step(layer.name, "concat", inputs, {"axis": axis})

    if kind == "Add":
        return Step(layer.name, "add", inputs)

    if kind == "Activation":
        return Step(layer.name, "activation", inputs, {"op": _activation_op(layer, cfg["activation"])})

    if kind == "Dropout":
        # Dropout is the identity at prediction time.
        return Step(layer.name, "activation", inputs, {"op": None})

    if kind == "Lambda":
        return Step(layer.name, "shift", inputs, {"offset": _lambda_offset(layer)})

    raise _untranslatable(layer, "this layer type is not supported")


def _tuple(value, n_dim: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (list, tuple)) else (int(value),) * n_dim


def _activation_op(layer, activation) -> str | None:
    name = activation if isinstance(activation, str) else getattr(activation, "__name__", repr(activation))
    if name not in ACTIVATION_OPS:
        raise _untranslatable(layer, f"activation {name!r}; supported: {sorted(ACTIVATION_OPS)}")
    return ACTIVATION_OPS[name]


def _lambda_offset(layer) -> float:
    """Return c if the Lambda layer computes x + c (csbdeep's scale offset), else raise.

    A Lambda holds arbitrary Python; csbdeep's only one adds ``eps_scale`` to the
    softplus scale. Probing it on a few values proves it is that shift.
    """
    probe = np.array([[0.0, 1.0, -2.5, 1000.0]], dtype=np.float32)
    try:
        result = np.asarray(layer.function(probe), dtype=np.float32)
    except Exception as err:  # the Lambda does something this probe cannot follow
        raise _untranslatable(layer, f"calling it on a probe failed ({err})") from err
    offset = float(result.flat[0])
    if result.shape != probe.shape or not np.allclose(result, probe + np.float32(offset), rtol=0, atol=1e-6):
        raise _untranslatable(layer, "it is not a constant offset x + c like csbdeep's scale offset")
    return offset


# --------------------------------------------------------------------------
# Plain steps -> tf.compat.v1 graph
# --------------------------------------------------------------------------

def build_graph(steps: list[Step], output_name: str):
    """Write the steps into a new TF1-style graph.

    Parameters
    ----------
    steps : list of Step
        From :func:`describe_keras_model`.
    output_name : str
        The step whose result is the graph's output.

    Returns
    -------
    graph : tf.Graph
    input_tensor, output_tensor : tf.Tensor
        The float32 placeholder ``input`` (shape ``[-1, ..., C_in]``) and the
        ``Identity`` named ``output`` (shape ``[-1, ..., C_out]``).
    """
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        tensors = {}
        input_tensor = None
        for step in steps:
            if step.kind == "input":
                # No name scope here, so that the node is called exactly "input".
                shape = [None] * (len(step.params["shape"]) - 1) + [step.params["shape"][-1]]
                input_tensor = tf.compat.v1.placeholder(tf.float32, shape, name="input")
                tensors[step.name] = input_tensor
                continue
            with tf.compat.v1.name_scope(step.name):
                tensors[step.name] = _STEP_BUILDERS[step.kind](tf, [tensors[i] for i in step.inputs],
                                                               **step.params)
        if input_tensor is None:
            raise ExportError("The network has no input layer.")
        output_tensor = tf.raw_ops.Identity(input=tensors[output_name], name="output")
        channels_out = int(tensors[output_name].shape[-1])
        # The plugin maps axes from the signature's shape: rank and channels must be known.
        output_tensor.set_shape([None] * (len(input_tensor.shape) - 1) + [channels_out])
    return graph, input_tensor, output_tensor


def _build_conv(tf, inputs, n_dim, kernel, bias, padding, activation):
    (x,) = inputs
    conv = tf.raw_ops.Conv2D if n_dim == 2 else tf.raw_ops.Conv3D
    y = conv(input=x, filter=tf.constant(kernel, name="kernel"), strides=[1] * (n_dim + 2), padding=padding)
    if bias is not None:
        y = tf.raw_ops.BiasAdd(value=y, bias=tf.constant(bias, name="bias"))
    return _apply_activation(tf, y, activation)


def _build_maxpool(tf, inputs, n_dim, pool, strides, padding):
    (x,) = inputs
    pool_op = tf.raw_ops.MaxPool if n_dim == 2 else tf.raw_ops.MaxPool3D
    return pool_op(input=x, ksize=[1, *pool, 1], strides=[1, *strides, 1], padding=padding)


def _build_upsample(tf, inputs, n_dim, size):
    (x,) = inputs
    if n_dim == 2:
        # ResizeNearestNeighbor with integer factors (align_corners=False,
        # half_pixel_centers=False) repeats each pixel, as Keras' UpSampling2D does.
        yx = tf.raw_ops.StridedSlice(input=tf.raw_ops.Shape(input=x), begin=tf.constant([1]),
                                     end=tf.constant([3]), strides=tf.constant([1]))
        new_size = tf.raw_ops.Mul(x=yx, y=tf.constant(np.array(size, dtype=np.int32)))
        return tf.raw_ops.ResizeNearestNeighbor(images=x, size=new_size)
    # 3D: repeat one axis at a time, from the last spatial axis to the first.
    # Concatenating f copies along the *next* axis and merging that factor into
    # this axis by a reshape repeats every element f times without rank > 5.
    for axis in reversed(range(1, n_dim + 1)):
        factor = size[axis - 1]
        if factor == 1:
            continue
        shape = tf.raw_ops.Shape(input=x)
        dims = [tf.raw_ops.StridedSlice(input=shape, begin=tf.constant([i]), end=tf.constant([i + 1]),
                                        strides=tf.constant([1]), shrink_axis_mask=1)
                for i in range(n_dim + 2)]
        dims[axis] = tf.raw_ops.Mul(x=dims[axis], y=tf.constant(np.int32(factor)))
        copies = tf.raw_ops.ConcatV2(values=[x] * factor, axis=tf.constant(np.int32(axis + 1)))
        x = tf.raw_ops.Reshape(tensor=copies, shape=tf.raw_ops.Pack(values=dims, axis=0))
    return x


def _build_concat(tf, inputs, axis):
    return tf.raw_ops.ConcatV2(values=inputs, axis=tf.constant(np.int32(axis)))


def _build_add(tf, inputs):
    total = inputs[0]
    for x in inputs[1:]:
        total = tf.raw_ops.Add(x=total, y=x)
    return total


def _build_activation(tf, inputs, op):
    (x,) = inputs
    return _apply_activation(tf, x, op)


def _build_shift(tf, inputs, offset):
    (x,) = inputs
    return tf.raw_ops.Add(x=x, y=tf.constant(np.float32(offset), name="offset"))


def _apply_activation(tf, x, op):
    if op is None:
        return x
    return getattr(tf.raw_ops, op)(features=x)


_STEP_BUILDERS = {"conv": _build_conv, "maxpool": _build_maxpool, "upsample": _build_upsample,
                  "concat": _build_concat, "add": _build_add, "activation": _build_activation,
                  "shift": _build_shift}
