"""The shared-prefix batch planner and path choice (pure functions of token counts; ``harness.execution.prefix``)."""

from harness.execution import prefix
from harness.execution.prefix import Item


def item(prefix_len: int, option_lens: list[int]) -> Item:
    return Item(list(range(prefix_len)), [list(range(n)) for n in option_lens])


def test_items_of_one_length_go_in_one_batch():
    items = [item(30, [3, 4]) for _ in range(10)]
    assert prefix.plan(items) == [list(range(10))]


def test_batches_cover_every_item_once_within_the_limits():
    items = [item(n, [2, 5, 3]) for n in (400, 12, 30, 900, 15, 31, 700, 13) * 6]
    batches = prefix.plan(items)
    assert sorted(i for b in batches for i in b) == list(range(len(items)))
    for batch in batches:
        chosen = [items[i] for i in batch]
        assert len(batch) <= prefix.BATCH_ITEMS
        if len(batch) > 1:
            width = max(len(i.prefix) for i in chosen)
            assert len(batch) * width <= prefix.BATCH_POSITIONS
    # cheaper than every item alone, and than everything padded into batches in arrival order
    alone = sum(prefix.batch_cost([i]) for i in items)
    planned = sum(prefix.batch_cost([items[i] for i in b]) for b in batches)
    assert planned < alone
    arrival = sum(prefix.batch_cost(items[s:s + 8]) for s in range(0, len(items), 8))
    assert planned < arrival


def test_a_very_long_context_is_not_padded_into_short_ones():
    items = [item(10, [2, 2]) for _ in range(5)] + [item(2000, [2, 2])]
    batches = prefix.plan(items)
    assert [5] in batches


def test_path_choice_follows_the_costs():
    # a long shared context with several options: the shared-prefix path
    sib = item(60, [3, 2, 4, 3, 3, 2, 4])
    assert sib.shared_cost() < sib.plain_cost()
    # one shared token and long options: nothing worth sharing, lm-eval's plain requests
    empty = item(1, [12, 12])
    assert empty.plain_cost() < empty.shared_cost()


def test_short_contexts_with_long_options_are_ordered_by_option_length():
    """XCOPA's shape: contexts of similar length, two options of 5-20 tokens. Sorted by context length, every batch
    pads its options to a long one; the plan sorts by option length instead when that costs less."""
    import random

    rng = random.Random(0)
    items = [item(rng.randint(14, 18), [rng.randint(5, 20), rng.randint(5, 20)]) for _ in range(200)]
    batches = prefix.plan(items)
    planned = sum(prefix.batch_cost([items[i] for i in b]) for b in batches)
    by_context = sorted(range(len(items)), key=lambda i: len(items[i].prefix))
    context_order = sum(prefix.batch_cost([items[i] for i in by_context[s:s + prefix.BATCH_ITEMS]])
                        for s in range(0, len(items), prefix.BATCH_ITEMS))
    assert planned < 0.9 * context_order
    rests = [max(items[i].rest for i in b) for b in batches]
    assert rests == sorted(rests)  # batches follow option length
    # long contexts with one-token options keep context order (SIB-200's shape)
    sib = [item(rng.randint(20, 90), [1, 1, 2]) for _ in range(100)]
    widths = [max(len(sib[i].prefix) for i in b) for b in prefix.plan(sib)]
    assert widths == sorted(widths)
