"""for_each: the work loop every job runs its items through."""

from __future__ import annotations

import asyncio

import pytest

from valuealign.aio import for_each


def test_for_each_keeps_at_most_limit_in_flight_and_hands_back_every_result() -> None:
    running, peak, started, finished = 0, 0, [], []

    async def work(i: int) -> int:
        nonlocal running, peak
        started.append(i)
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001 * (i % 3))
        running -= 1
        return i * 10

    asyncio.run(for_each(range(20), work, limit=4, done=finished.append))
    assert peak == 4
    assert started == list(range(20))  # taken in order
    assert sorted(finished) == [i * 10 for i in range(20)]  # each result once


def test_for_each_without_a_limit_starts_everything_at_once() -> None:
    gate = asyncio.Event()
    seen: list[int] = []

    async def work(i: int) -> int:
        seen.append(i)
        if len(seen) == 5:
            gate.set()  # only reachable if all five run together
        await asyncio.wait_for(gate.wait(), 1)
        return i

    asyncio.run(for_each(range(5), work))
    assert sorted(seen) == list(range(5))


def test_for_each_with_nothing_to_do_and_an_error_in_the_work() -> None:
    asyncio.run(for_each([], lambda i: asyncio.sleep(0), limit=3))

    async def work(i: int) -> None:
        if i == 2:
            raise ValueError("item 2")

    with pytest.raises(ValueError, match="item 2"):
        asyncio.run(for_each(range(4), work, limit=2))


def test_fewer_gc_pauses_restores_the_collector() -> None:
    import gc

    from valuealign.aio import fewer_gc_pauses

    old = gc.get_threshold()
    with fewer_gc_pauses(young=12_345):
        assert gc.get_threshold() == (max(12_345, old[0]), *old[1:])
        assert gc.get_freeze_count() > 0  # what was alive at the start is left alone
    assert gc.get_threshold() == old and gc.get_freeze_count() == 0
    try:
        with fewer_gc_pauses():
            raise KeyError("boom")
    except KeyError:
        pass
    assert gc.get_threshold() == old and gc.get_freeze_count() == 0
