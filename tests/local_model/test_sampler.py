"""sampler.generate and choose_commits on tiny real models."""

from __future__ import annotations

import pytest
import torch

from local_model.sampler import StepInfo, choose_commits, generate
from tests.local_model.test_model import one_thread, tiny_model  # noqa: F401  (one_thread: autouse fixture)

MASK = 0
PROMPT = torch.randint(3, 64, (2, 9), generator=torch.Generator().manual_seed(3))
RULES = ("fixed", "threshold", "draft_verify")


@pytest.fixture(scope="module")
def model():
    return tiny_model()


@pytest.fixture(scope="module")
def shifted():
    return tiny_model(shift=True, seed=1)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("use_cache", [False, True])
def test_greedy_is_deterministic_and_fills_every_mask(model, rule: str, use_cache: bool) -> None:
    kw = dict(max_new_tokens=24, block_length=8, commit=rule, use_cache=use_cache, draft_threshold=0.3)
    a, stats = generate(model, PROMPT, **kw)
    b, _ = generate(model, PROMPT, **kw)
    assert torch.equal(a, b)
    assert a.shape == (2, 33) and torch.equal(a[:, :9], PROMPT)
    assert not (a == MASK).any()
    assert stats.committed == 2 * 24 and 3 <= stats.nfe <= 24


def test_threshold_one_equals_one_token_per_step(model, shifted) -> None:
    for m in (model, shifted):
        for use_cache in (False, True):
            kw = dict(max_new_tokens=20, block_length=8, use_cache=use_cache)
            fixed, fs = generate(m, PROMPT, commit="fixed", tokens_per_step=1, **kw)
            thresh, ts = generate(m, PROMPT, commit="threshold", threshold=1.0, **kw)
            assert torch.equal(fixed, thresh) and fs.nfe == ts.nfe == 20


@pytest.mark.parametrize("m", ["model", "shifted"])
def test_cache_matches_no_cache_when_each_block_takes_one_pass(
    m: str, request: pytest.FixtureRequest
) -> None:
    # The first pass of a block is exact by construction, so blocks decoded in one pass agree exactly.
    mdl = request.getfixturevalue(m)
    kw = dict(max_new_tokens=24, block_length=6, commit="fixed", tokens_per_step=6, stop_at_eos=False)
    cached, cs = generate(mdl, PROMPT, use_cache=True, **kw)
    plain, ps = generate(mdl, PROMPT, use_cache=False, **kw)
    assert torch.equal(cached, plain) and cs.nfe == ps.nfe == 4


def test_cache_still_decodes_close_to_no_cache(shifted) -> None:
    # Later passes of a block are approximate; on this model they still agree on most positions.
    kw = dict(max_new_tokens=24, block_length=8, commit="fixed", stop_at_eos=False)
    cached, _ = generate(shifted, PROMPT, use_cache=True, **kw)
    plain, _ = generate(shifted, PROMPT, use_cache=False, **kw)
    assert (cached[:, 9:] == plain[:, 9:]).float().mean() > 0.3


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("use_cache", [False, True])
def test_infilling_keeps_unmasked_tokens(model, shifted, rule: str, use_cache: bool) -> None:
    template = torch.randint(3, 64, (3, 40), generator=torch.Generator().manual_seed(4))
    holes = torch.zeros_like(template, dtype=torch.bool)
    holes[0, 5:9] = holes[1, 20:31] = holes[2, 12] = holes[2, 30:38] = True
    template[holes] = MASK
    for m in (model, shifted):
        out, stats = generate(m, template=template, block_length=8, commit=rule, use_cache=use_cache)
        assert torch.equal(out[~holes], template[~holes])
        assert not (out == MASK).any()
        assert stats.committed == int(holes.sum())


def test_draft_verify_remasks_and_never_returns_a_mask(model) -> None:
    out, stats = generate(
        model, PROMPT, max_new_tokens=32, block_length=16, commit="draft_verify", draft_threshold=0.05,
        verify_threshold=0.99, threshold=1.1,
    )  # fmt: skip
    assert stats.remasked > 0  # drafts were rejected on verification ...
    assert not (out == MASK).any()  # ... and still every position ended final
    assert stats.committed == 64 and stats.nfe <= 32


def test_sampling_uses_the_given_generator(model) -> None:
    kw = dict(max_new_tokens=16, block_length=8, temperature=1.0, top_k=20, top_p=0.9)
    a, _ = generate(model, PROMPT, generator=torch.Generator().manual_seed(7), **kw)
    b, _ = generate(model, PROMPT, generator=torch.Generator().manual_seed(7), **kw)
    c, _ = generate(model, PROMPT, generator=torch.Generator().manual_seed(8), **kw)
    assert torch.equal(a, b) and not torch.equal(a, c) and not (a == MASK).any()


@pytest.mark.parametrize("measure", ["margin", "neg_entropy"])
def test_other_confidence_measures(model, measure: str) -> None:
    out, stats = generate(model, PROMPT, max_new_tokens=16, block_length=8, confidence=measure, threshold=0.5)
    assert not (out == MASK).any() and stats.committed == 32


@pytest.mark.parametrize("use_cache", [False, True])
def test_left_padding_gives_the_unpadded_result(model, use_cache: bool) -> None:
    short = PROMPT[1, 4:]
    batch = torch.stack([PROMPT[0], torch.cat([torch.full((4,), 2), short])])
    mask = torch.ones_like(batch, dtype=torch.bool)
    mask[1, :4] = False
    kw = dict(max_new_tokens=16, block_length=8, commit="fixed", use_cache=use_cache)
    padded, _ = generate(model, batch, attention_mask=mask, **kw)
    alone, _ = generate(model, short, **kw)
    assert torch.equal(padded[1, 9:], alone[0, 5:])
    assert torch.equal(padded[1, :4], torch.full((4,), 2))  # padding is never filled


def test_early_stop_at_eos() -> None:
    eos_model = tiny_model()
    with torch.no_grad():
        eos_model.model.norm.weight.zero_()  # uniform logits: the mask is banned, so argmax is id 1 = eos
    steps: list[StepInfo] = []
    out, stats = generate(
        eos_model, PROMPT, max_new_tokens=64, block_length=8, commit="fixed", on_step=steps.append
    )
    assert stats.nfe == 8 and (out[:, 9:] == 1).all()
    assert len(steps) == 9 and steps[-1].filled == steps[-1].total == 128
    assert [s.block_done for s in steps[:8]] == [False] * 7 + [True]
    _, full = generate(
        eos_model, PROMPT, max_new_tokens=64, block_length=8, commit="fixed", stop_at_eos=False
    )
    assert full.nfe == 64


def test_choose_commits_rules() -> None:
    conf = torch.tensor([[0.2, 0.95, 0.5, 0.3], [0.1, 0.2, 0.3, 0.4]])
    masked = torch.tensor([[True, True, True, False], [True, True, True, True]])
    none = torch.zeros_like(masked)
    kw = dict(threshold=0.9, verify_threshold=0.7, draft_threshold=0.25, tokens_per_step=2)
    fixed = choose_commits("fixed", conf, masked, none, **kw).final
    assert fixed.tolist() == [[False, True, True, False], [False, False, True, True]]
    thr = choose_commits("threshold", conf, masked, none, **kw).final
    assert thr.tolist() == [[False, True, False, False], [False, False, False, True]]  # at least one per row
    # Draft-and-verify: row 0 verifies its draft and drafts the 0.5; row 1 rejects both drafts, finalises one.
    drafted = torch.tensor([[False, False, False, True], [False, False, True, True]])
    conf_dv = torch.tensor([[0.2, 0.5, 0.6, 0.8], [0.1, 0.2, 0.6, 0.3]])
    masked_dv = ~drafted
    c = choose_commits("draft_verify", conf_dv, masked_dv, drafted, **kw)
    assert c.final.tolist() == [[False, False, False, True], [False, True, False, False]]
    assert c.draft.tolist() == [[False, True, True, False], [False, False, False, False]]
    assert c.remask.tolist() == [[False, False, False, False], [False, False, True, True]]
    # Only rejected drafts left: the most confident of them becomes final anyway.
    only = choose_commits("draft_verify", conf_dv[1:], none[1:], drafted[1:], **kw)
    assert only.final.tolist() == [[False, False, True, False]] and only.remask.tolist() == [
        [False] * 3 + [True]
    ]


def test_bad_arguments() -> None:
    m = tiny_model()
    with pytest.raises(ValueError, match="commit rule"):
        generate(m, PROMPT, max_new_tokens=4, commit="greedy")
    with pytest.raises(ValueError, match="either"):
        generate(m, PROMPT, template=PROMPT, max_new_tokens=4)


def test_each_step_reports_the_confidences_it_committed_at(model) -> None:
    steps: list[StepInfo] = []
    _, stats = generate(
        model, PROMPT, max_new_tokens=24, block_length=8, commit="threshold", threshold=0.6, use_cache=False,
        on_step=steps.append,
    )  # fmt: skip
    assert sum(s.confidence.numel() for s in steps) == stats.committed == 2 * 24
    several = [s.confidence for s in steps if s.confidence.numel() > 2]
    assert several, "the tiny model never passed the threshold twice in one pass: the test shows nothing"
    for c in several:  # more than one per row only when the threshold let them through
        assert (c >= 0.6).sum() >= c.numel() - 2
    assert all(((s.confidence > 0) & (s.confidence <= 1)).all() for s in steps)
