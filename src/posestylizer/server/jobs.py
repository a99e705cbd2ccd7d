"""A bounded queue in front of the model: inference runs in one worker thread, never on the event loop.

One worker, because one forward pass already uses every core (PyTorch's intra-op threads) and the estimator is not
thread-safe; ``capacity`` more requests may wait. The next one is answered 503 at once instead of piling up, and a job
that runs past ``timeout`` seconds is answered 503 too (it finishes in the background and frees its slot then).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from fastapi import HTTPException

T = TypeVar("T")


class Busy(HTTPException):
    """503 with Retry-After: the queue is full or the job ran out of time."""

    def __init__(self, detail: str) -> None:
        super().__init__(status_code=503, detail=detail, headers={"Retry-After": "2"})


class JobQueue:
    """Run blocking callables one at a time in a worker thread, with at most ``capacity`` waiting.

    Args:
        capacity: requests that may wait while one runs (>= 0).
        timeout: seconds a request waits for its result before it is answered 503 (None: no limit).
    """

    def __init__(self, capacity: int, timeout: float | None = None) -> None:
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity}")
        self.capacity = capacity
        self.timeout = timeout
        self.pending = 0  # running + waiting; only touched on the event loop thread
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="posestylizer-model")

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.pending > self.capacity:
            raise Busy(f"the model is busy ({self.pending} requests in progress or waiting); try again shortly")
        self.pending += 1
        future = asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))
        future.add_done_callback(self._finished)
        try:
            # shield: a timed-out or disconnected request leaves the job running; its slot frees when it ends.
            return await asyncio.wait_for(asyncio.shield(future), self.timeout)
        except TimeoutError:
            raise Busy(f"the request took longer than {self.timeout:g} s; try again or use a smaller photo") from None

    def _finished(self, future: asyncio.Future) -> None:
        self.pending -= 1
        if not future.cancelled():
            future.exception()  # retrieved here, so an abandoned job's error is not logged as never retrieved

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
