"""How generation requests are cut into batches (``harness.engine.plan_batches``): a pure function."""

from harness.execution.decode import CACHE_POSITIONS
from harness.execution.engine import PROMPT_SCORES, BATCH_TOKENS, GENERATION_BATCH, PROMPT_TOKEN_COST, SEQUENCE_STEP_COST, STEP_COST, plan_batches


def cost(batches, lengths, new_tokens):
    return sum(PROMPT_TOKEN_COST * len(b) * max(lengths[i] for i in b)
               + new_tokens * (STEP_COST + SEQUENCE_STEP_COST * len(b)) for b in batches)


def test_every_request_is_in_exactly_one_batch():
    lengths = [120, 1500, 130, 125, 1400, 90, 300, 310]
    batches = plan_batches(lengths, 100)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))


def test_similar_prompts_share_a_batch():
    assert plan_batches([200, 210, 205, 198], 160) == [[3, 0, 2, 1]]


def test_a_few_long_prompts_are_not_padded_onto_many_short_ones():
    lengths = [1350, 1344] + [380] * 8
    batches = plan_batches(lengths, 24)
    assert len(batches) == 2 and sorted(batches[-1]) == [0, 1]
    assert cost(batches, lengths, 24) < cost([list(range(len(lengths)))], lengths, 24)


def test_long_generations_favour_fewer_batches():
    # 400 decoding steps cost more than padding 2 prompts from 160 to 560 tokens (the ten rows' prompts and budgets,
    # 9,600 positions, fit in decode.CACHE_POSITIONS)
    assert len(plan_batches([560, 550] + [160] * 8, 400)) == 1


def test_batches_hold_at_most_the_cap():
    batches = plan_batches([100] * 70, 50)
    assert max(len(b) for b in batches) <= GENERATION_BATCH
    assert plan_batches([100] * 5, 50, cap=2) and max(len(b) for b in plan_batches([100] * 5, 50, cap=2)) == 2


def test_the_plan_is_no_worse_than_any_single_cut():
    lengths = [470, 305, 304, 210] + [120 + i for i in range(30)]
    best = cost(plan_batches(lengths, 160), lengths, 160)
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    for k in range(1, len(order)):
        if k <= GENERATION_BATCH and len(order) - k <= GENERATION_BATCH:
            assert best <= cost([order[:k], order[k:]], lengths, 160) + 1e-9


def test_a_batch_holds_no_more_cache_than_its_budgets_need_room_for():
    # prompts of 1,000 tokens with 4,000 to generate: each row's cache reaches 5,000 positions
    batches = plan_batches([1000] * 20, [4000] * 20)
    assert sorted(i for b in batches for i in b) == list(range(20))
    assert max(len(b) for b in batches) == CACHE_POSITIONS // 5000
    # short prompts with a short budget: one batch
    assert len(plan_batches([300] * 20, [24] * 20)) == 1


def test_mixed_budgets_cost_the_largest_budget_in_steps_and_each_its_own_per_sequence():
    lengths, budgets = [100] * 4, [24, 24, 24, 320]
    (batch,) = plan_batches(lengths, budgets)
    assert sorted(batch) == [0, 1, 2, 3]


def test_no_requests_no_batches():
    assert plan_batches([], 10) == []


def test_counters_of_several_workers_add_up():
    from harness.execution.engine import Counters, merge_counts

    a = Counters(requests=3, cached=1, model_requests=2, model_seconds=1.5, paths={"generate": 2})
    b = Counters(requests=4, deduplicated=1, model_requests=3, forward_tokens=10, paths={"generate": 1, "plain": 2})
    total = merge_counts([a, b])
    assert (total.requests, total.cached, total.deduplicated, total.model_requests, total.forward_tokens) == \
        (7, 1, 1, 5, 10)
    assert total.model_seconds == 1.5 and total.paths == {"generate": 3, "plain": 2}


def test_long_prompts_run_a_few_at_a_time_and_a_longer_one_alone():
    # attention's memory grows with batch × length²: a batch holds at most BATCH_TOKENS padded prompt tokens
    batches = plan_batches([4000] * 8 + [100] * 4, 64)
    assert sorted(i for b in batches for i in b) == list(range(12))
    assert all(len(b) * max([4000] * 8 + [100] * 4) <= BATCH_TOKENS or len(b) == 1 for b in batches)
    assert max(len(b) for b in batches if all(i < 8 for i in b)) == max(1, PROMPT_SCORES // 4000**2)
    # prompts of 2,000 tokens: as many as PROMPT_SCORES allows
    assert max(len(b) for b in plan_batches([2000] * 12, 64)) == PROMPT_SCORES // 2000**2
    assert all(len(b) * 2000**2 <= PROMPT_SCORES for b in plan_batches([2000] * 12, 64))
    assert plan_batches([20000, 20000, 30000], 64) == [[0], [1], [2]]
