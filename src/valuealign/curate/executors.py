"""Where shard functions run: local processes or a Ray cluster, with the same results.

An executor maps a top-level function over jobs and returns the results in job order (so the
caller never depends on completion order). ``local`` runs in this process when one worker (or
one job) is enough, else in a pool of ``spawn``-ed processes that lives as long as the
executor. ``ray`` submits one Ray task per job; it joins a running Ray instance (the one a test
or a notebook started, or ``$RAY_ADDRESS``) or starts a local one with ``workers`` CPUs and
shuts it down again on ``close``. On a multi-machine cluster the input files and the output
folder must be on storage every node sees at the same path.

>>> with make_executor("local", workers=4) as ex:
...     results = ex.map(curate_shard, jobs, desc="shards")
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Literal

from valuealign.errors import MissingExtra, UserError

ExecutorKind = Literal["local", "ray"]


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class _Bar:
    """One phase of a curate run in the progress display every command uses
    (:func:`valuealign.runs.progress_bar`, rich): ``curate PHASE  ━━━━  3/12 shards  0:00:02``."""

    def __init__(self, total: int, desc: str, unit: str) -> None:
        from valuealign.runs import progress_bar as rich_progress

        self._progress = rich_progress(
            "[bold]curate[/] {task.description:<14}", "{task.fields[unit]}", enabled=True
        )
        self._args = (desc, total, unit)
        self._task: Any = None

    def __enter__(self) -> _Bar:
        desc, total, unit = self._args
        self._progress.start()
        self._task = self._progress.add_task(desc, total=total, unit=unit + "s")
        return self

    def update(self, n: int = 1) -> None:
        self._progress.advance(self._task, n)

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()


def progress_bar(total: int, desc: str, progress: bool, unit: str = "shard") -> Any:
    """A progress bar for one phase (a silent stand-in when progress is off)."""
    return _Bar(total, desc, unit) if progress else _NoBar()


class _Bars:
    """Several phases that run at the same time, one bar each in one display (rich allows one
    live display at a time): ``bars.update("dedup")``."""

    def __init__(self, total: int, descs: Sequence[str], unit: str, enabled: bool) -> None:
        from valuealign.runs import progress_bar as rich_progress

        self._progress = rich_progress(
            "[bold]curate[/] {task.description:<14}", "{task.fields[unit]}", enabled=enabled
        )
        self._args = (total, tuple(descs), unit)
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> _Bars:
        total, descs, unit = self._args
        self._progress.start()
        for desc in descs:
            self._tasks[desc] = self._progress.add_task(desc, total=total, unit=unit + "s")
        return self

    def update(self, desc: str, n: int = 1) -> None:
        self._progress.advance(self._tasks[desc], n)

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()


def progress_bars(total: int, descs: Sequence[str], progress: bool, unit: str = "shard") -> Any:
    """One bar per phase, all shown at once (phases that overlap); silent when progress is off."""
    return _Bars(total, descs, unit, progress)


def _done(value: Any) -> Future:
    fut: Future = Future()
    fut.set_result(value)
    return fut


def require_packages(purpose: str, modules: dict[str, str]) -> None:
    """``MissingExtra`` for the first of ``{module: pip package}`` that is not installed."""
    import importlib.util

    for module, package in modules.items():
        if importlib.util.find_spec(module) is None:
            raise MissingExtra(package, "curate", purpose)


def _noop() -> None:
    pass


def _init_worker(verbose: bool, warm_up: tuple[Callable, tuple] | None) -> None:
    from valuealign.console import set_verbose

    set_verbose(verbose)
    if warm_up is not None:
        fn, args = warm_up
        try:
            fn(*args)
        except Exception:  # only an optimisation: the job meets any real error itself
            pass


class LocalExecutor:
    kind = "local"

    def __init__(
        self, workers: int | None = None, warm_up: tuple[Callable, tuple] | None = None
    ) -> None:
        """``warm_up``: ``(fn, args)`` each pool worker runs once when it starts (loading what
        the jobs will need, while the caller is still busy planning them)."""
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.warm_up = warm_up
        self._pool: Any = None

    def start(self) -> None:
        """Start the pool's workers now (they import and warm up while the caller works)."""
        if self.workers > 1:
            pool = self._ensure_pool()
            for _ in range(self.workers):
                pool.submit(_noop)

    def map(
        self, fn: Callable, jobs: Sequence[Any], *, desc: str = "", progress: bool = False
    ) -> list[Any]:
        results: list[Any] = [None] * len(jobs)
        with progress_bar(len(jobs), desc, progress) as bar:
            if self.workers == 1 or len(jobs) <= 1:
                for i, job in enumerate(jobs):
                    results[i] = fn(job)
                    bar.update(1)
                return results
            import concurrent.futures as cf

            pool = self._ensure_pool()
            futures = {pool.submit(fn, job): i for i, job in enumerate(jobs)}
            for fut in cf.as_completed(futures):
                results[futures[fut]] = fut.result()
                bar.update(1)
        return results

    def submit(self, fn: Callable, job: Any, *, inline: bool = False) -> Future:
        """Start ``fn(job)``; its future. In this process (done on return, an exception
        raised here) with one worker or when ``inline``, else in the pool (started on first
        use, jobs run first come first served)."""
        if self.workers == 1 or inline:
            return _done(fn(job))
        return self._ensure_pool().submit(fn, job)

    def _ensure_pool(self) -> Any:
        if self._pool is None:
            import concurrent.futures as cf
            import multiprocessing

            from valuealign.console import is_verbose

            # a spawned worker starts afresh: it gets the parent's -v (or its quiet) first
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(is_verbose(), self.warm_up),
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingExtra("ray", "curate", "the ray executor") from None
    return ray


class RayExecutor:
    kind = "ray"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.ray = import_ray()
        self._started = False
        self._remote: dict[Callable, Any] = {}

    def _init(self) -> None:
        import logging

        from valuealign.console import is_verbose

        ray = self.ray
        if ray.is_initialized():
            return
        # Ray's own start-up lines only with -v
        quiet = {"logging_level": logging.INFO if is_verbose() else logging.ERROR}
        if os.environ.get("RAY_ADDRESS"):
            ray.init(log_to_driver=False, **quiet)
        else:
            ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False, **quiet)
        self._started = True

    def map(
        self, fn: Callable, jobs: Sequence[Any], *, desc: str = "", progress: bool = False
    ) -> list[Any]:
        if not jobs:
            return []
        self._init()
        ray = self.ray
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._remote[fn] = ray.remote(num_cpus=1, max_retries=2)(fn)
        refs = [remote.remote(job) for job in jobs]
        index = {ref: i for i, ref in enumerate(refs)}
        results: list[Any] = [None] * len(jobs)
        pending = list(refs)
        with progress_bar(len(jobs), desc, progress) as bar:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    results[index[ref]] = ray.get(ref)
                    bar.update(1)
        return results

    def submit(self, fn: Callable, job: Any, *, inline: bool = False) -> Future:
        """One Ray task for ``fn(job)``, as a ``concurrent.futures.Future`` (``inline`` is for
        the local executor and ignored here)."""
        self._init()
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._remote[fn] = self.ray.remote(num_cpus=1, max_retries=2)(fn)
        return remote.remote(job).future()

    def close(self) -> None:
        if self._started:
            self.ray.shutdown()
            self._started = False

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_executor(kind: str, workers: int | None = None) -> LocalExecutor | RayExecutor:
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "ray":
        return RayExecutor(workers)
    raise UserError(f"unknown executor {kind!r}", fix="use --executor local or --executor ray")
