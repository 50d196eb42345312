"""Training batches for Keras' ``fit``: csbdeep's data wrapper, or the same batches through ``tf.data``.

csbdeep's ``DataWrapper`` draws each batch as a NumPy fancy index of a
shuffled permutation. Handed to ``fit`` as a Python iterator, Keras 3 wraps
it in ``tf.data.Dataset.from_generator(...).prefetch(AUTOTUNE)``: one Python
thread converts every batch to tensors, about 120 ms per batch of 128
patches of 16x64x64 on a 2-core AMD EPYC (``benchmarks/feed.py``). A CPU
step of the paper's network takes minutes, so that is free there; a GPU
step may take less, and then the GPU would wait.

``"tf.data"`` keeps the patches in two TensorFlow tensors and lets only the
batch *indices* come from Python: the very indices ``DataWrapper`` draws, in
the same order, so training sees the same batches; the gather runs in
TensorFlow's thread pool and is prefetched. It holds a second copy of the
patches (as tensors), which is why ``"auto"`` uses it only with a GPU.
"""

from __future__ import annotations

from .errors import UserInputError

__all__ = ["FEEDS", "resolve", "training_batches"]

FEEDS = ("auto", "csbdeep", "tf.data")


def resolve(feed: str, gpu_list=None) -> str:
    """``"csbdeep"`` or ``"tf.data"`` for ``feed``; ``"auto"`` is tf.data with a GPU, else csbdeep.

    Raises
    ------
    UserInputError
        ``feed`` is not one of :data:`FEEDS`.
    """
    if feed not in FEEDS:
        raise UserInputError(f"unknown feed {feed!r}; choose from {', '.join(FEEDS)}")
    if feed != "auto":
        return feed
    if gpu_list is None:
        from . import hardware
        gpu_list = hardware.gpus()
    return "tf.data" if gpu_list else "csbdeep"


def training_batches(X, Y, batch_size: int, n_batches: int, feed: str, first_batch: int = 0):
    """What to pass to ``fit``: batches ``first_batch`` to ``first_batch + n_batches`` of (X, Y) in csbdeep's
    order, fed as ``feed`` says.

    ``feed`` is ``"csbdeep"`` or ``"tf.data"`` (see :func:`resolve`). The
    batch order comes from NumPy's global generator either way (csbdeep's
    ``RollingSequence``), so a seeded run draws the same batches with both.
    A resumed training passes the batches it has already trained on as
    ``first_batch``: their shuffles are drawn (indices only, no patches) so
    that the rest of the sequence is the one an uninterrupted run sees.
    """
    from csbdeep.internals.train import DataWrapper

    wrapper = DataWrapper(X, Y, batch_size, length=first_batch + n_batches)
    for i in range(first_batch):
        wrapper.batch(i)  # draws the permutations in the order an uninterrupted run draws them
    batches = range(first_batch, len(wrapper))
    if feed == "csbdeep":
        return (wrapper[i] for i in batches)
    import tensorflow as tf

    x, y = tf.constant(X), tf.constant(Y)
    indices = tf.data.Dataset.from_generator(lambda: (wrapper.batch(i) for i in batches),
                                             output_signature=tf.TensorSpec((batch_size,), tf.int64))
    return indices.map(lambda idx: (tf.gather(x, idx), tf.gather(y, idx)),
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)
