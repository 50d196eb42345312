"""What both widgets share: layer choices that follow the viewer, and a run/cancel/progress panel.

The panel runs a generator of ``(steps done, message)`` in napari's worker
thread (``napari.qt.threading.create_worker``), so the viewer stays
responsive; *Cancel* asks the worker to stop at its next ``yield`` and drops
whatever it returns. Errors end in one status line (the package's own
message), never in a traceback dialog.
"""

from __future__ import annotations

from magicgui.widgets import Label, ProgressBar, PushButton

from ..errors import LumicareError


class LayerChoices:
    """magicgui ``choices`` callable: the viewer's layers of one kind, by name."""

    def __init__(self, viewer, kind: str = "Image"):
        self._viewer, self._kind = viewer, kind

    def __call__(self, widget=None) -> list[tuple[str, object]]:
        import napari.layers

        cls = getattr(napari.layers, self._kind)
        return [(layer.name, layer) for layer in self._viewer.layers if isinstance(layer, cls)]


def one_line(err: BaseException) -> str:
    """A status line for an error: the package's message as it is, anything else with its kind."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return text if isinstance(err, LumicareError) else f"{type(err).__name__}: {text}"


class _Failure(str):
    """What a job that raised returns instead: its status line. (An exception that leaves napari's worker
    becomes a traceback in the viewer; a user needs the one line.)"""


def _guarded(job):
    try:
        return (yield from job)
    except Exception as err:  # noqa: BLE001 - every failure ends as one status line
        return _Failure(one_line(err))


class WorkerPanel:
    """Start and Cancel buttons, a progress bar and a status line, driving one worker at a time."""

    def __init__(self, action: str, n_steps: int):
        self.start_button = PushButton(text=action)
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.progress = ProgressBar(value=0, min=0, max=n_steps, label="Progress")
        self.status = Label(value="")
        self.worker = None
        self._on_result = self._on_cancel = None
        self.cancel_button.changed.connect(self.cancel)

    @property
    def widgets(self) -> list:
        return [self.start_button, self.cancel_button, self.progress, self.status]

    def watch_layers(self, viewer, *combos) -> None:
        """Refresh the layer lists whenever layers are added, removed or renamed."""
        def refresh(event=None):
            for combo in combos:
                combo.reset_choices()
        for name in ("inserted", "removed", "moved"):
            getattr(viewer.layers.events, name).connect(refresh)
        refresh()

    def say(self, text: str) -> None:
        self.status.value = text

    @property
    def running(self) -> bool:
        return self.worker is not None

    def run(self, job, on_result, on_cancel=None) -> None:
        """Run the generator ``job`` in a worker thread; ``on_result(returned value)`` on the viewer's thread.

        ``job`` yields ``(steps done, message)``, or None to give *Cancel* a
        moment; ``on_cancel`` (e.g. killing a child process) runs when
        *Cancel* is pressed, before the worker stops at its next yield."""
        from napari.qt.threading import create_worker

        if self.running:
            return self.say("Still working; wait, or press Cancel.")
        self._on_result, self._on_cancel = on_result, on_cancel
        self.progress.value = 0
        worker = create_worker(_guarded, job, _start_thread=False)
        worker.yielded.connect(self._step)
        worker.returned.connect(self._returned)
        worker.aborted.connect(lambda: self.say("Cancelled; nothing was added."))
        worker.finished.connect(self._finished)
        self.worker = worker
        self.start_button.enabled, self.cancel_button.enabled = False, True
        worker.start()

    def cancel(self, *_) -> None:
        if self.worker is not None:
            self.say("Cancelling...")
            self.worker.quit()
            if self._on_cancel is not None:
                self._on_cancel()

    def _step(self, update) -> None:
        if update is None:
            return
        done, message = update
        self.progress.value = done
        self.say(message)

    def _returned(self, value) -> None:
        if self.worker is not None and self.worker.abort_requested:
            return
        if isinstance(value, _Failure):
            return self.say(f"Failed: {value}")
        self._on_result(value)

    def _finished(self) -> None:
        self.worker = None
        self.start_button.enabled, self.cancel_button.enabled = True, False
