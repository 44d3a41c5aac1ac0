"""The flat scoring planner (pure functions of token counts; ``harness.execution.prefix``)."""

import random

from harness.execution import prefix
from harness.execution.prefix import Item


def item(prefix_len: int, option_lens: list[int]) -> Item:
    return Item(list(range(prefix_len)), [list(range(n)) for n in option_lens])


def test_positions_and_logits_count_what_a_call_runs_and_keeps():
    sib = item(60, [1, 1, 2, 1])  # one-token options are read off the context's last position
    assert sib.positions == 61 and sib.logits == 2
    xcopa = item(15, [7, 11])
    assert xcopa.positions == 15 + 6 + 10 and xcopa.logits == 1 + 6 + 10


def test_calls_take_every_item_once_in_order_within_the_limits():
    rng = random.Random(0)
    items = [item(rng.randint(10, 900), [rng.randint(1, 30) for _ in range(rng.randint(1, 7))]) for _ in range(300)]
    calls = prefix.plan(items)
    assert [i for call in calls for i in call] == list(range(len(items)))
    for call in calls:
        chosen = [items[i] for i in call]
        if len(call) > 1:
            assert sum(i.positions for i in chosen) <= prefix.PASS_POSITIONS
            assert sum(i.logits for i in chosen) <= prefix.PASS_LOGITS
    # each call is cut only where the next item would not fit: calls are full, not one item each
    for call, following in zip(calls, calls[1:]):
        chosen = [items[i] for i in call] + [items[following[0]]]
        assert (sum(i.positions for i in chosen) > prefix.PASS_POSITIONS
                or sum(i.logits for i in chosen) > prefix.PASS_LOGITS)
    assert len(calls) < len(items) / 3


def test_an_item_larger_than_a_call_goes_alone():
    items = [item(10, [2, 2]), item(prefix.PASS_POSITIONS + 10, [2, 2]), item(10, [2, 2])]
    assert prefix.plan(items) == [[0], [1], [2]]
    many_logits = [item(5, [prefix.PASS_LOGITS + 3]), item(5, [3])]
    assert prefix.plan(many_logits) == [[0], [1]]
