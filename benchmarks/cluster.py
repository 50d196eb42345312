"""Facility scale, measured: one process vs Dask workers, and a volume larger than a worker's memory.

One run prints, for the machine it runs on (every row is a ``lumicare``
command run as a user runs it, in a fresh process, timed from start to
exit, so start-up, model loading and the cluster's own start are included):

1. ``lumicare predict`` on a folder of ``--stacks`` simulated-like stacks of
   ``--shape``: in one process with TensorFlow on 1 thread and on all
   threads, then ``--workers 1`` and ``--workers 2`` with one thread each:
   seconds, stacks/s, ratio to the one-process run of the same thread count;
2. the same for ``lumicare evaluate`` (mask MAE and nuclear Pearson of every
   restoration against its reference);
3. predict and evaluate again on clusters of 1 and 2 workers already started and
   warmed up (timed in this process): how throughput scales once start-up
   is paid;
4. the scheduler's own cost per task (``--tasks`` no-op tasks on two
   workers), for projections to larger screens;
5. a volume of ``--volume`` voxels (uint16, default 16x4096x4096, 512 MiB;
   float32 copies and activations of the whole would need several GB) restored
   block by block into OME-Zarr with ``--workers 1 --memory-limit
   --worker-memory``, from OME-Zarr and from one TIFF per plane: seconds,
   voxels/s, and the peak resident memory of the worker processes together
   (sampled every 50 ms by psutil).

The network is the ``quick`` preset's (trained for a few steps only: speed
does not depend on the weights). Asserts nothing; table and command in
docs/facility-scale.md::

    python benchmarks/cluster.py --out /tmp/lumicare-cluster        # docs/facility-scale.md
    python benchmarks/cluster.py --stacks 8 --volume 16,1024,1024   # a quick look
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from machine import describe  # noqa: E402  (benchmarks/ is not a package)


def _sizes(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.replace("x", ",").split(","))


def make_model(root: Path) -> Path:
    from lumicare_ij import care, training
    from lumicare_ij.io import write_stack

    model = root / "model"
    if (model / "weights_best.h5").is_file():
        return model
    rng = np.random.default_rng(0)
    for i in range(2):
        signal = _specimen((16, 96, 96), rng)
        write_stack(root / "train" / "short" / f"c{i}.tif", (100 + rng.poisson(signal * 0.05)).astype(np.uint16),
                    overwrite=True)
        write_stack(root / "train" / "long" / f"c{i}.tif", (100 + rng.poisson(signal * 5)).astype(np.uint16),
                    overwrite=True)
    training.prepare_training_data(root / "train", "denoise", "short", "long", root / "train.npz", preset="quick",
                                   n_patches_per_image=8, progress=False, overwrite=True)
    care.train(root / "train.npz", model, preset="quick", epochs=1, train_steps_per_epoch=2, progress=False, seed=0)
    return model


def _specimen(shape, rng) -> np.ndarray:
    from scipy import ndimage

    points = (rng.random(shape) > 0.9995).astype(np.float32)
    return ndimage.gaussian_filter(points, (1, 5, 5)) * 4e4


def make_stacks(folder: Path, n: int, shape, seed: int) -> None:
    from lumicare_ij.io import write_stack

    rng = np.random.default_rng(seed)
    for i in range(n):
        path = folder / f"s{i:03d}.tif"
        if not path.exists():
            write_stack(path, (100 + rng.poisson(_specimen(shape, rng) * 0.05)).astype(np.uint16),
                        pixel_size_um=0.65, z_step_um=0.57)


class PeakMemory:
    """Peak summed RSS of the processes whose command line contains a marker (the Dask workers)."""

    def __init__(self, root_pid: int):
        import psutil

        self.root, self.peak, self.done = psutil.Process(root_pid), 0, threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self):
        import psutil

        while not self.done.is_set():
            try:
                children = self.root.children(recursive=True)
                workers = [c for c in children if _is_worker(c)]
                self.peak = max(self.peak, sum(c.memory_info().rss for c in workers))
            except psutil.Error:
                pass
            time.sleep(0.05)

    def stop(self) -> float:
        self.done.set()
        self.thread.join()
        return self.peak / 2**30


def _is_worker(process) -> bool:
    try:
        return any("spawn_main" in part or "multiprocessing" in part for part in process.cmdline())
    except Exception:  # noqa: BLE001  (a process that just ended)
        return False


def run(argv: list[str], env_threads: int | None = None, watch: bool = False) -> tuple[float, float | None]:
    """(seconds, peak worker GiB or None) of one ``lumicare`` command in a fresh process."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if env_threads:
        env.update(TF_NUM_INTRAOP_THREADS=str(env_threads), TF_NUM_INTEROP_THREADS="1",
                   OMP_NUM_THREADS=str(env_threads))
    t0 = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "lumicare_ij.cli", *argv], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    memory = PeakMemory(process.pid) if watch else None
    _, err = process.communicate()
    seconds = time.perf_counter() - t0
    peak = memory.stop() if memory else None
    if process.returncode != 0:
        raise SystemExit(f"lumicare {' '.join(argv)} failed ({process.returncode}):\n{err[-2000:]}")
    return seconds, peak


def many_stacks(root: Path, model: Path, n: int, shape, cores: int) -> list[str]:
    make_stacks(root / "short", n, shape, seed=1)
    make_stacks(root / "long", n, shape, seed=2)  # the references: another draw (speed only)
    rows = ["| command | how | seconds | stacks / s | vs one process, 1 thread | vs --workers 1 |",
            "|---|---|---|---|---|---|"]
    configs = [("one process, 1 thread", "serial1", [], 1), (f"one process, {cores} threads", "serial", [], cores),
               ("--workers 1, 1 thread", "workers1", ["--workers", "1"], None),
               ("--workers 2, 1 thread each", "workers2", ["--workers", "2"], None)]
    for command in ("predict", "evaluate"):
        seconds = {}
        for label, slug, extra, threads in configs:
            out = root / f"{command}-{slug}"
            shutil.rmtree(out, ignore_errors=True)  # a re-run would skip finished stacks (resume)
            args = (["predict", "--model", str(model), str(root / "short"), "--out", str(out), "--force"]
                    if command == "predict" else
                    ["evaluate", "--reference", str(root / "long"), "--restored", str(root / "predict-serial1"),
                     "--readout", "mask_mae", "--readout", "nuclear_pearson", "--out", str(out), "--force"])
            seconds[slug], _ = run(args + extra, env_threads=threads)
            versus = f"{seconds['workers1'] / seconds[slug]:.2f}x" if "workers1" in seconds else "-"
            rows.append(f"| {command} | {label} | {seconds[slug]:.1f} | {n / seconds[slug]:.2f} | "
                        f"{seconds['serial1'] / seconds[slug]:.2f}x | {versus} |")
            print(rows[-1], flush=True)
        rows.append(side_by_side(root, model, command, n, seconds["workers1"]))
        print(rows[-1], flush=True)
    return rows


def side_by_side(root: Path, model: Path, command: str, n: int, workers1_s: float) -> str:
    """The machine's own two-way ceiling: two one-thread processes at once, half of the stacks each."""
    halves = [sorted((root / "short").glob("*.tif"))[i::2] for i in (0, 1)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1",
               OMP_NUM_THREADS="1")
    t0 = time.perf_counter()
    processes = []
    for i, half in enumerate(halves):
        if command == "predict":
            shutil.rmtree(root / f"side{i}", ignore_errors=True)
            args = ["predict", "--model", str(model), *map(str, half), "--out", str(root / f"side{i}"), "--force"]
        else:  # evaluate pairs whole folders: give each process its half as folders of links
            args = ["evaluate", "--reference", str(_links(root / f"side-ref-{i}", root / "long", half)),
                    "--restored", str(_links(root / f"side-restored-{i}", root / "predict-serial1", half)),
                    "--readout", "mask_mae", "--readout", "nuclear_pearson", "--out", str(root / f"side-eval-{i}"),
                    "--force"]
        processes.append(subprocess.Popen([sys.executable, "-m", "lumicare_ij.cli", *args], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    if any(p.wait() for p in processes):
        raise SystemExit(f"two side-by-side {command} runs: one failed")
    seconds = time.perf_counter() - t0
    return (f"| {command} | two one-process runs side by side, half each (the machine's ceiling) | {seconds:.1f} | "
            f"{n / seconds:.2f} | - | {workers1_s / seconds:.2f}x |")


def _links(folder: Path, source: Path, names: list[Path]) -> Path:
    folder.mkdir(exist_ok=True)
    for name in names:
        link = folder / name.name
        if not link.exists():
            link.symlink_to((source / name.name).resolve())
    return folder


def large_volume(root: Path, model: Path, shape, memory_limit: str, block: str) -> list[str]:
    from lumicare_ij import omezarr
    from lumicare_ij.io import write_stack

    source = root / "volume.ome.zarr"
    planes = root / "volume-planes"
    if not source.exists():
        import dask.array as da

        def plane_block(block_info=None):
            (z0, z1), (y0, y1), (x0, x1) = block_info[None]["array-location"]
            local = np.random.default_rng([z0, y0, x0])
            return (100 + local.poisson(_specimen((z1 - z0, y1 - y0, x1 - x0), local) * 0.05)).astype(np.uint16)

        volume = da.map_blocks(plane_block, chunks=((shape[0],), *[(512,) * (s // 512) for s in shape[1:]]),
                               dtype=np.uint16)
        omezarr.write_volume(source, volume, pixel_size_um=0.65, z_step_um=0.57, chunks=(shape[0], 512, 512))
    if not planes.exists():
        data, _ = omezarr.open_volume(source)
        for z in range(shape[0]):
            write_stack(planes / f"z{z:04d}.tif", np.asarray(data[z].compute()), pixel_size_um=0.65)
    rows = ["| input | block | worker memory limit | seconds | voxels / s | peak worker memory (GiB) |",
            "|---|---|---|---|---|---|"]
    voxels = int(np.prod(shape))
    for label, args in (("OME-Zarr", [str(source)]), ("one TIFF per plane", [str(planes), "--planes"])):
        out = root / f"restored-{'zarr' if label == 'OME-Zarr' else 'planes'}"
        sized = [] if block == "auto" else ["--block", block]  # auto: sized to the worker's memory
        seconds, peak = run(["predict", "--model", str(model), *args, "--out", str(out), "--force", *sized,
                             "--workers", "1", "--threads-per-worker", str(os.cpu_count() or 1),
                             "--memory-limit", memory_limit], watch=True)
        rows.append(f"| {label}, {'x'.join(map(str, shape))} uint16 | {block} | {memory_limit} | {seconds:.0f} | "
                    f"{voxels / seconds / 1e6:.2f} M | {peak:.2f} |")
        print(rows[-1], flush=True)
    return rows


def warm_scaling(root: Path, model: Path, n: int) -> list[str]:
    """Steady state: 1 and 2 single-threaded workers already started and warmed up, timed in this process."""
    from lumicare_ij import cluster, evaluation, restore

    rows = ["| command | warm cluster | seconds | stacks / s | vs 1 worker |", "|---|---|---|---|---|"]
    stacks = sorted((root / "short").glob("*.tif"))
    seconds = {}
    for workers in (1, 2):
        with cluster.dask_client(workers, 1, memory_limit="auto") as client:  # as --workers starts them
            address = client.scheduler.address
            restore.restore_files(model, stacks[:2 * workers], root / f"warm{workers}-warmup", overwrite=True,
                                  scheduler=address, progress=False)
            for command in ("predict", "evaluate"):
                if command == "predict":
                    shutil.rmtree(root / f"warm{workers}", ignore_errors=True)
                t0 = time.perf_counter()
                if command == "predict":
                    restore.restore_files(model, stacks, root / f"warm{workers}", overwrite=True, scheduler=address,
                                          progress=False)
                else:
                    evaluation.evaluate_folders(root / "long", {"restored": root / f"warm{workers}"},
                                                ("mask_mae", "nuclear_pearson"), scheduler=address, progress=False)
                seconds[command, workers] = time.perf_counter() - t0
    for command in ("predict", "evaluate"):
        for workers in (1, 2):
            t = seconds[command, workers]
            rows.append(f"| {command} | {workers} x 1 thread | {t:.1f} | {n / t:.2f} | "
                        f"{seconds[command, 1] / t:.2f}x |")
            print(rows[-1], flush=True)
    return rows


def _nothing(x):
    return x


def task_overhead(n_tasks: int) -> list[str]:
    """Scheduler cost per task: ``n_tasks`` no-op tasks on a LocalCluster of 2 single-threaded workers."""
    import distributed

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=50) as lc, distributed.Client(lc) as client:
        client.gather(client.map(_nothing, range(100), pure=False))  # warm-up
        t0 = time.perf_counter()
        client.gather(client.map(_nothing, range(n_tasks), pure=False))
        seconds = time.perf_counter() - t0
    rows = ["| no-op tasks | workers | seconds | ms per task |", "|---|---|---|---|",
            f"| {n_tasks} | 2 x 1 thread | {seconds:.2f} | {1e3 * seconds / n_tasks:.2f} |"]
    print(rows[-1], flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("lumicare-cluster"), help="work folder")
    parser.add_argument("--stacks", type=int, default=32, help="stacks in the folder [32]")
    parser.add_argument("--shape", type=_sizes, default=(16, 256, 256), help="stack Z,Y,X [16,256,256]")
    parser.add_argument("--volume", type=_sizes, default=(16, 4096, 4096), help="large volume Z,Y,X [16,4096,4096]")
    parser.add_argument("--worker-memory", default="3GB", help="memory limit of the volume's worker [3GB]")
    parser.add_argument("--block", default="auto", help="block of the volume run, or auto: sized to the "
                        "worker's memory, as lumicare predict does without --block [auto]")
    parser.add_argument("--tasks", type=int, default=5000, help="no-op tasks of the overhead part [5000]")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: stacks, warm, overhead, volume")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    print(f"[cluster] {describe()}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    model = make_model(args.out)
    tables = []
    if "stacks" not in args.skip:
        tables.append("\n".join(many_stacks(args.out / "stacks", model, args.stacks, args.shape, cores)))
    if "warm" not in args.skip:
        make_stacks(args.out / "stacks" / "short", args.stacks, args.shape, seed=1)
        make_stacks(args.out / "stacks" / "long", args.stacks, args.shape, seed=2)
        tables.append("\n".join(warm_scaling(args.out / "stacks", model, args.stacks)))
    if "overhead" not in args.skip:
        tables.append("\n".join(task_overhead(args.tasks)))
    if "volume" not in args.skip:
        tables.append("\n".join(large_volume(args.out, model, args.volume, args.worker_memory, args.block)))
    print("\n\n".join(tables))


if __name__ == "__main__":
    main()
