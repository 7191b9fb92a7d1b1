"""The per-process memo behind the remembered units, rosters and looks (`pilots.memo.Memo`)."""

from __future__ import annotations

import threading

from pilots.memo import Memo


def test_least_recently_used_go_first_once_past_the_limit() -> None:
    memo: Memo[str, int] = Memo(2)
    memo.put("a", 1)
    memo.put("b", 2)
    assert memo.get("a") == 1  # "b" is now the least recently used
    memo.put("c", 3)
    assert memo.get_many(["a", "b", "c"]) == [1, None, 3]


def test_weight_bounds_the_total_and_the_newest_is_kept_whatever_it_weighs() -> None:
    memo: Memo[str, list[int]] = Memo(5, weight=len)
    memo.put_many(["a", "b"], [[1, 1], [2, 2]])
    memo.put("c", [3, 3])  # 6 > 5: "a" goes
    assert memo.get_many(["a", "b", "c"]) == [None, [2, 2], [3, 3]]
    memo.put("huge", list(range(50)))
    assert len(memo) == 1 and memo.get("huge") is not None
    memo.put("huge", [0])  # replacing a key counts its new weight only
    memo.put_many(["x", "y"], [[1], [1]])
    assert len(memo) == 3


def test_replacing_drops_the_entries_a_new_value_supersedes() -> None:
    memo: Memo[tuple, str] = Memo(10)
    memo.put(("db", 1, "old"), "units then")
    memo.put(("db", 2, "old"), "another pilot")
    memo.put(("db", 1, "new"), "units now", replacing=lambda key: key[:2] == ("db", 1))
    assert memo.get(("db", 1, "old")) is None
    assert memo.get_many([("db", 1, "new"), ("db", 2, "old")]) == ["units now", "another pilot"]
    memo.clear()
    assert len(memo) == 0 and memo.get(("db", 1, "new")) is None


def test_threads_share_it_safely() -> None:
    memo: Memo[int, int] = Memo(1000)

    def work(offset: int) -> None:
        for k in range(2000):
            memo.put(offset + k % 700, k)
            memo.get(offset + (k * 7) % 700)

    threads = [threading.Thread(target=work, args=(1000 * t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(memo) == 1000
