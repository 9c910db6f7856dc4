"""Micro-batching: concurrent recommend requests answered by one model call."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class Pending:
    """One queued ``/recommend`` request and the future its answer goes to."""

    users: list
    k: int
    exclude_seen: bool
    history: list | None
    future: asyncio.Future = field(repr=False)

    @property
    def key(self) -> tuple:
        """Requests batch together when they share this: the exclusion rule
        and the kind of their ids (a model call takes one kind)."""
        return (self.exclude_seen, isinstance(self.users[0], str))


class MicroBatcher:
    """Collects recommend requests and answers them with one ``recommend`` call.

    A batch takes every request that queued while the previous batch ran,
    then waits up to ``max_wait`` seconds for more, up to ``max_batch``
    users in all: under load the batches grow by themselves, and a lone
    request waits at most ``max_wait``.

    Requests are grouped by ``exclude_seen`` and id kind; a batch asks for the largest
    ``k`` of its requests and each request gets its own first ``k``
    columns. ``history`` entries travel with their users. The model is read
    from ``holder()`` when a batch starts, so a batch finishes on the model
    it started with even if a reload swaps it meanwhile. ``run(fn)`` runs
    the blocking model call (in the server's model thread).
    """

    def __init__(self, holder, run, *, max_batch: int, max_wait: float):
        self.holder = holder
        self.run = run
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.queue: asyncio.Queue[Pending] = asyncio.Queue()
        self.n_batches = 0
        self.n_requests = 0
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def submit(self, users, k, exclude_seen, history):
        future = asyncio.get_running_loop().create_future()
        await self.queue.put(Pending(users, k, exclude_seen, history, future))
        return await future

    async def _loop(self) -> None:
        while True:
            first = await self.queue.get()
            batch = [first]
            n_users = len(first.users)
            # What queued while the previous batch ran joins at once; then
            # wait up to max_wait for more.
            while n_users < self.max_batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
                n_users += len(batch[-1].users)
            deadline = time.monotonic() + self.max_wait
            while n_users < self.max_batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self.queue.get(), remaining)
                except TimeoutError:
                    break
                batch.append(item)
                n_users += len(item.users)
            for key in dict.fromkeys(p.key for p in batch):
                await self._answer([p for p in batch if p.key == key], key[0])

    async def _answer(self, group: list[Pending], exclude_seen: bool) -> None:
        model = self.holder()
        users = [u for p in group for u in p.users]
        k = max(p.k for p in group)
        history = None
        if any(p.history is not None for p in group):
            history = [
                entry for p in group for entry in (p.history or [None] * len(p.users))
            ]
        self.n_batches += 1
        self.n_requests += len(group)
        try:
            ids, scores = await self.run(
                lambda: model.recommend(
                    users,
                    k=k,
                    exclude_seen=exclude_seen,
                    history=history,
                )
            )
        except Exception as exc:  # every request of the batch gets the error
            for pending in group:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            return
        start = 0
        for pending in group:
            stop = start + len(pending.users)
            if not pending.future.done():
                pending.future.set_result(
                    (ids[start:stop, : pending.k], scores[start:stop, : pending.k])
                )
            start = stop
