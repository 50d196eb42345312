"""Many stacks at once on Dask distributed: one client, one task per stack, a model cache per worker.

The same run works on a laptop, a workstation and a cluster: ``workers=N``
starts a :class:`distributed.LocalCluster` of N worker *processes* on this
machine; ``scheduler=ADDRESS`` (or Dask's own configuration, e.g. the
``DASK_SCHEDULER_ADDRESS`` environment variable) joins a cluster started
elsewhere (dask-jobqueue on SLURM/PBS, the Dask Kubernetes operator,
``dask scheduler`` + ``dask worker`` by hand). Dask is an optional
dependency: ``pip install "lumicare-ij[cluster]"``.

Why the pieces are as they are:

- A worker loads a model once and keeps it (:func:`worker_cache`): loading
  costs seconds, a task (one stack) not much more.
- TensorFlow in a worker uses as many threads as the worker has Dask
  threads, and a worker runs one prediction at a time (:func:`one_at_a_time`),
  so N workers of T threads use N x T cores and never more.
- Tasks are plain module-level functions with plain arguments (paths,
  numbers), so they pickle by reference and any worker can run any task; a
  task that dies with its worker is run again elsewhere by Dask, and since
  every output is written atomically (:mod:`lumicare_ij.atomic`) a killed
  task leaves no half-written file.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time

from .atomic import is_storage_failure
from .errors import LumicareError, UserInputError

#: Per process: what :func:`worker_cache` has loaded, and how often each key was loaded (tests read it).
_CACHE: dict = {}
_LOADS: dict = {}
_CACHE_LOCK = threading.Lock()
_COMPUTE_LOCK = threading.Lock()


def _require_distributed():
    try:
        import distributed
    except ImportError:
        raise UserInputError("running on several workers needs Dask distributed: pip install "
                             "\"lumicare-ij[cluster]\" (or dask[distributed]).") from None
    return distributed


def wanted(workers: int | None, scheduler: str | None) -> bool:
    """Whether a run should go through Dask: workers or a scheduler given, or Dask configured with one."""
    if workers is not None or scheduler:
        return True
    return bool(os.environ.get("DASK_SCHEDULER_ADDRESS"))


#: Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which fixes glibc's otherwise adaptive threshold:
#: every large NumPy temporary is then mapped and unmapped again, and the readouts ran 2.4 times slower
#: in a worker than in one process (benchmarks/cluster.py). Local workers keep glibc's defaults.
_GLIBC_MALLOC_DEFAULTS = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


@contextlib.contextmanager
def dask_client(workers: int | None = None, threads_per_worker: int = 1, scheduler: str | None = None,
                memory_limit: str | None = "auto"):
    """A :class:`distributed.Client`: of a new LocalCluster (``workers``) or of a running scheduler.

    Parameters
    ----------
    workers : int, optional
        Start this many worker processes here (a LocalCluster, closed on exit).
    threads_per_worker : int
        Dask (and TensorFlow) threads of each local worker.
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``); wins over ``workers``.
        Neither given: Dask's configuration (``DASK_SCHEDULER_ADDRESS``).
    memory_limit : str, optional
        Memory limit of each local worker (Dask's syntax, e.g. "4GB"; "auto"
        shares the machine's memory among the workers).
    """
    distributed = _require_distributed()
    import dask

    if workers is not None and workers < 1:
        raise UserInputError(f"--workers must be 1 or more, got {workers}.")
    if threads_per_worker < 1:
        raise UserInputError(f"--threads-per-worker must be 1 or more, got {threads_per_worker}.")
    scheduler = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as err:
            raise UserInputError(f"cannot reach the Dask scheduler at {scheduler} ({err}); check the address "
                                 "(tcp://HOST:PORT) and that the scheduler is running.") from None
        with client:
            yield client
        return
    threads = str(threads_per_worker)
    # Set before TensorFlow starts in the worker: its thread pools are sized once, at start-up.
    env = {"TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": threads,
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    with dask.config.set(_GLIBC_MALLOC_DEFAULTS), _without_leaked_malloc_setting(), \
            distributed.LocalCluster(n_workers=workers or 1, threads_per_worker=threads_per_worker, processes=True,
                                     dashboard_address=":0", memory_limit=memory_limit, env=env,
                                     silence_logs=40) as cluster, distributed.Client(cluster) as client:
        yield client


@contextlib.contextmanager
def _without_leaked_malloc_setting():
    """Dask's nannies write their setting into this process's environment, where later workers inherit it."""
    leaked = os.environ.get("MALLOC_TRIM_THRESHOLD_") == "65536"  # Dask's value, not one a user chose
    if leaked:
        del os.environ["MALLOC_TRIM_THRESHOLD_"]
    try:
        yield
    finally:
        if leaked:
            os.environ["MALLOC_TRIM_THRESHOLD_"] = "65536"


def worker_memory_bytes() -> int:
    """The smallest memory limit among the active Dask client's workers; this machine's memory without one."""
    from .hardware import physical_memory_bytes

    try:
        from distributed import get_client

        client = get_client()
    except (ImportError, ValueError):  # no cluster extra, or no client in this process
        return physical_memory_bytes()
    limits = [w.get("memory_limit") or 0 for w in client.scheduler_info()["workers"].values()]
    return min((limit for limit in limits if limit), default=physical_memory_bytes())


def worker_cache(key, load):
    """``load()`` once per process and key, then the same object for every later task of this process."""
    with _CACHE_LOCK:
        if key not in _CACHE:
            _threads_as_the_worker()
            _CACHE[key] = load()
            _LOADS[key] = _LOADS.get(key, 0) + 1
        return _CACHE[key]


def _threads_as_the_worker() -> None:
    """In a Dask worker started elsewhere (``dask worker --nthreads T``), let TensorFlow use T threads.

    Only possible before TensorFlow starts in this process; local clusters set
    the same through the workers' environment (:func:`dask_client`).
    """
    import sys

    if "tensorflow" in sys.modules:
        return
    try:
        from distributed import get_worker

        threads = str(get_worker().state.nthreads)
    except (ImportError, ValueError):  # not in a worker: this process's own settings stand
        return
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", threads)
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")


def loads_in_this_process() -> dict:
    """How often each cached key was loaded in this process (1 each when the cache works)."""
    return {str(k): n for k, n in _LOADS.items()}


@contextlib.contextmanager
def one_at_a_time():
    """Serialise the network's computations within a process (TensorFlow already uses all its threads)."""
    with _COMPUTE_LOCK:
        yield


def compute(tasks: list, *, progress: bool = False, desc: str = "blocks") -> list:
    """Compute Dask ``tasks`` (arrays, delayed writes) on the active distributed client if there is one,
    else here; return their results in order.

    With ``progress``: a tqdm bar of the local scheduler's tasks, or, on a
    distributed client (whose tasks run in other processes, out of reach of
    local callbacks), distributed's own text progress bar of the graph.
    Errors of the tasks are raised here.
    """
    import dask

    try:
        from distributed import default_client, progress as distributed_progress
        client = default_client()
    except (ImportError, ValueError):  # no distributed, or no client: the local scheduler
        client = None
    if client is None:
        if not progress:
            return list(dask.compute(*tasks))
        from tqdm.dask import TqdmCallback

        with TqdmCallback(desc=desc, unit="task"):
            return list(dask.compute(*tasks))
    futures = client.compute(tasks)
    if progress:
        distributed_progress(futures)
    return client.gather(futures)


_STORAGE_FAILED = "storage failed"


class _stopping_on_full_storage:
    """``function`` as a task that returns (not raises) a full or read-only disk, so that the workers log no
    traceback and :func:`run_tasks` stops the run with the file system's own message."""

    def __init__(self, function):
        self.function = function
        self.__name__ = getattr(function, "__name__", "task")  # Dask names the tasks after it

    def __call__(self, item: dict) -> dict:
        try:
            return self.function(item)
        except OSError as err:
            if not is_storage_failure(err):
                raise
            return {"input": item["input"], "status": _STORAGE_FAILED,
                    "oserror": (err.errno, err.strerror, err.filename)}


def run_tasks(client, function, items: list[dict], *, desc: str, progress: bool = True) -> list[dict]:
    """Run ``function(item)`` for every item (a dict with ``input``) as one Dask task each, in order.

    ``function`` returns a dict with ``status``; a task that raises (its
    worker died more often than Dask allows, a bug) becomes a ``failed`` entry
    with the error, so one bad input never stops the others; a full or
    read-only disk does stop them (it would fail every one), raised as the
    file system's ``OSError``. The progress bar
    counts stacks done of all and shows their throughput.
    """
    distributed = _require_distributed()
    from tqdm.auto import tqdm

    futures = client.map(_stopping_on_full_storage(function), items, pure=False)
    index = {f.key: i for i, f in enumerate(futures)}
    results: list = [None] * len(items)
    start = time.perf_counter()
    with tqdm(total=len(items), desc=desc, unit="stack", disable=not progress) as bar:
        for future in distributed.as_completed(futures):
            i = index[future.key]
            try:
                results[i] = future.result()
            except LumicareError as err:
                results[i] = {"input": items[i]["input"], "status": "failed", "error": str(err)}
            except Exception as err:  # noqa: BLE001  (a worker lost too often, or a bug: report, go on)
                results[i] = {"input": items[i]["input"], "status": "failed",
                              "error": f"{type(err).__name__}: {err}"}
            if results[i].get("status") == _STORAGE_FAILED:  # every later task would fail alike: stop
                client.cancel(futures)
                raise OSError(*results[i]["oserror"])
            bar.update(1)
            bar.set_postfix_str(f"{bar.n / max(time.perf_counter() - start, 1e-9):.2f} stacks/s")
    return results


__all__ = ["wanted", "dask_client", "worker_cache", "loads_in_this_process", "one_at_a_time", "run_tasks",
           "compute"]
