"""The TensorFlow 1.x ops an exported graph may use, and a checker for them.

The CSBDeep Fiji plugin runs models in TensorFlow Java 1.15 (some Fiji
installs still in 1.12-1.14). A graph written by TensorFlow 2 loads there only
if every node is an op that those versions know and carries only attributes
that their op registry declares: newer attributes such as ``explicit_paddings``
on MaxPool or ``debug_name`` on VarHandleOp make the load fail. The list below
holds ops that exist, with the same meaning, since TensorFlow 1.12.

This module needs no TensorFlow: it reads any object shaped like a
``GraphDef`` protobuf (``.node`` with ``.op``/``.attr``, ``.library``).
"""

from __future__ import annotations

from .errors import ExportError

#: Ops the exporter emits; everything else is refused (see module docstring).
ALLOWED_OPS = frozenset({
    "Placeholder", "Const", "Identity",
    "Conv2D", "Conv3D", "BiasAdd",
    "MaxPool", "MaxPool3D",
    "ResizeNearestNeighbor", "Reshape", "ConcatV2",
    "Shape", "StridedSlice", "Pack",
    # Add, not AddV2: AddV2 appeared only in TensorFlow 1.14.
    "Add", "Mul",
    "Relu", "Softplus",
})


def find_graph_problems(graph_def, registered_ops: dict[str, set[str]] | None = None) -> list[str]:
    """List every reason a graph would not load in TensorFlow 1.x.

    Parameters
    ----------
    graph_def : GraphDef-like
        A ``tensorflow.GraphDef`` (for example ``meta_graphs[0].graph_def`` of
        a parsed ``saved_model.pb``), or anything with the same fields.
    registered_ops : dict, optional
        Op name -> attribute names, as returned by
        :func:`lumicare_ij.export.tfjava.tfjava_registered_ops` (the registry of
        the TensorFlow Java 1.15 runtime that Fiji uses). When given, each
        node's op must be registered there and each of its attributes declared.

    Returns
    -------
    list of str
        One readable line per problem; empty when the graph is fine.
    """
    problems = []
    if len(graph_def.library.function) or len(graph_def.library.gradient):
        problems.append(
            f"graph has a function library ({len(graph_def.library.function)} functions); "
            "TensorFlow 1.x plugins need a flat graph")
    for node in graph_def.node:
        if node.op not in ALLOWED_OPS:
            problems.append(f"node {node.name!r}: op {node.op!r} is not in the allowed TF 1.12 op list")
        if registered_ops is None:
            continue
        if node.op not in registered_ops:
            problems.append(f"node {node.name!r}: op {node.op!r} is not registered in TensorFlow 1.15")
            continue
        # Attributes starting with "_" (such as "_output_shapes") are internal
        # annotations that TensorFlow's NodeDef validation skips in every version.
        unknown = sorted(a for a in node.attr if not a.startswith("_") and a not in registered_ops[node.op])
        if unknown:
            problems.append(f"node {node.name!r}: op {node.op!r} has attributes {unknown} "
                            "that TensorFlow 1.15 does not declare")
    return problems


def check_graph_def(graph_def, registered_ops: dict[str, set[str]] | None = None) -> None:
    """Raise :class:`ExportError` unless the graph would load in TensorFlow 1.x.

    Parameters
    ----------
    graph_def, registered_ops
        As in :func:`find_graph_problems`.

    Raises
    ------
    ExportError
        Listing every problem found.
    """
    problems = find_graph_problems(graph_def, registered_ops)
    if problems:
        raise ExportError("The graph would not load in Fiji's TensorFlow 1.x:\n  "
                          + "\n  ".join(problems))
