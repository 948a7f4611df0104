"""Draft-and-verify repair with the local diffusion coder: kiri's offline `agent fix --backend local`.

locate (localize.py) -> masked templates per suspicious line (templates.py) -> the model infills many drafts per
template in one batched `generate()` call -> drop drafts that do not parse -> rank by model likelihood -> verify
in scratch copies on all workers (verify.py), failing tests first -> the first candidate that passes every test.

Suspicious lines are handled in rounds (a few lines at a time) so that verification of the most suspicious lines
starts early and later lines are only drafted when needed. Candidates are model drafts plus line deletion; there are
no hand-written mutation operators, so the benchmark measures the model.
"""

from __future__ import annotations

import ast
import difflib
import json
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import BackendError
from agent.localize import Suspect, encode_lines, masked_logprobs, rank_lines, window
from agent.templates import Template, line_offsets, templates_for_line
from agent.verify import TestRun, restore, scratch_copy, verify_in

# A deletion has no model likelihood; it is ranked as if the model gave its (empty) fill this mean log-prob.
DELETE_LOGPROB = -1.5
LINES_PER_ROUND = 3
CONTEXT_TOKENS = 384  # tokens of surrounding code given to the model per template


@dataclass
class Candidate:
    """One drafted patch: a new version of one file."""

    path: str
    source: str  # the whole new file
    template: Template
    fill: str
    logprob: float  # mean log-probability of the fill's tokens (DELETE_LOGPROB for deletions)
    prior: float  # the line's suspiciousness
    key: str = ""  # semantic identity (see semantic_key)

    @property
    def score(self) -> float:
        return self.logprob + self.prior


@dataclass
class Attempt:
    """A candidate that was run, and what the tests said."""

    candidate: Candidate
    run: TestRun
    diff: str


@dataclass
class RepairResult:
    verified: bool
    diff: str
    files: list[str]
    candidates_tried: int
    seconds: float
    candidate: dict[str, str] | None
    attempts: list[Attempt] = field(default_factory=list)
    suspects: list[Suspect] = field(default_factory=list)
    drafted: int = 0  # distinct parsing candidates the model produced
    report: str = ""


def unified_diff(path: str, before: str, after: str) -> str:
    """A git-style unified diff of one file."""
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{path}", f"b/{path}"
        )
    )


def semantic_key(path: str, source: str) -> str | None:
    """What a candidate means, ignoring layout: the AST dump for Python (None: does not parse), else the text.

    Drafts that differ only in spacing or parentheses are one candidate, and a draft equal in meaning to the
    buggy file is no candidate at all.
    """
    if not path.endswith(".py"):
        return source
    try:
        return ast.dump(ast.parse(source))
    except (SyntaxError, ValueError):
        return None


def _keep(out: dict[str, Candidate], key: str, cand: Candidate, original_length: int) -> None:
    """Add `cand` unless an equivalent one is kept; of equivalents prefer the smaller edit (the fix as written)."""
    old = out.get(key)
    if old is None or abs(len(cand.source) - original_length) < abs(len(old.source) - original_length):
        out[key] = cand


def _mask_lengths(tpl: Template, original_tokens: int) -> list[int]:
    """How many mask tokens to offer a fill: the original length and a little more (`n` -> `n + 1`)."""
    if tpl.kind.startswith("insert"):
        return [6, 12]
    n = max(1, original_tokens)
    return sorted({n, n + 1 if tpl.kind == "token" else n + 2})


def draft_line(
    model: Any,
    tokenizer: Any,
    source: str,
    path: str,
    line: int,
    *,
    drafts: int,
    commit: str,
    generator: Any,
    temperature: float = 0.9,
) -> list[Candidate]:
    """Model drafts (plus the deletion) for one line: parsing, distinct, not the original file; logprob set."""
    import torch

    from local_model.sampler import generate

    config = model.config
    mask, device = config.mask_token_id, next(model.parameters()).device
    special = {config.mask_token_id, config.pad_token_id, *config.stop_ids}
    offsets, line_ids = line_offsets(source), encode_lines(tokenizer, source)
    lo, hi = window(line_ids, line - 1, CONTEXT_TOKENS)
    head_ids = [t for ids in line_ids[lo : line - 1] for t in ids]
    tail_ids = [t for ids in line_ids[line:hi] for t in ids]
    line_start, line_end = offsets[line - 1], offsets[line]

    out: dict[str, Candidate] = {}  # semantic key -> candidate
    original_key = semantic_key(path, source)
    # (template, prefix ids, suffix ids) for every template that needs the model.
    shaped: list[tuple[Template, list[int], list[int]]] = []
    for tpl in templates_for_line(source, path, line):
        if not tpl.needs_model:
            new = tpl.apply(source, "")
            key = semantic_key(path, new)
            if key is not None and key != original_key:
                _keep(out, key, Candidate(path, new, tpl, "", DELETE_LOGPROB, 0.0, key), len(source))
            continue
        # The span lies within the line (an insertion sits on its boundary), so the line's own text splits
        # into a prefix and a suffix around it; the other lines come from the per-line encoding.
        prefix = head_ids + tokenizer.encode(source[line_start : tpl.start] + tpl.before)
        suffix = tokenizer.encode(tpl.after + source[tpl.end : line_end]) + tail_ids
        shaped.append((tpl, prefix, suffix))

    rows: list[tuple[Template, list[int], list[int], int]] = []
    for tpl, prefix, suffix in shaped:
        for m in _mask_lengths(tpl, len(tokenizer.encode(tpl.original(source)))):
            rows.append((tpl, prefix, suffix, m))
    by_length: dict[int, list[tuple[Template, list[int], list[int], int]]] = {}
    for row in rows:
        by_length.setdefault(len(row[1]) + row[3] + len(row[2]), []).append(row)

    for group in by_length.values():
        base = torch.tensor([p + [mask] * m + s for _, p, s, m in group], dtype=torch.long, device=device)
        # One greedy draft per template, then `drafts - 1` sampled ones: the likeliest fill plus diversity.
        passes = [(base, 0.0)]
        if drafts > 1:
            passes.append((base.repeat_interleave(drafts - 1, dim=0), temperature))
        for template_ids, temp in passes:
            ids, _stats = generate(
                model, template=template_ids, commit=commit, temperature=temp, generator=generator
            )
            per = template_ids.shape[0] // len(group)
            for r in range(template_ids.shape[0]):
                tpl, prefix, _suffix, m = group[r // per]
                fill_ids = [int(t) for t in ids[r, len(prefix) : len(prefix) + m] if int(t) not in special]
                fill = tokenizer.decode(fill_ids)
                if not fill.strip() or "\n" in fill or "\r" in fill:
                    continue  # one-line edits only; an empty fill is the deletion's job
                new = tpl.apply(source, fill)
                key = semantic_key(path, new)
                if key is not None and key != original_key:
                    _keep(out, key, Candidate(path, new, tpl, fill, 0.0, 0.0, key), len(source))

    _score_fills(model, tokenizer, source, line, [c for c in out.values() if c.template.needs_model])
    return list(out.values())


def _score_fills(model: Any, tokenizer: Any, source: str, line: int, cands: list[Candidate]) -> None:
    """Set each candidate's mean log-probability of its fill given the context, one forward pass per batch."""
    if not cands:
        return
    offsets, line_ids = line_offsets(source), encode_lines(tokenizer, source)
    lo, hi = window(line_ids, line - 1, CONTEXT_TOKENS)
    head_ids = [t for ids in line_ids[lo : line - 1] for t in ids]
    tail_ids = [t for ids in line_ids[line:hi] for t in ids]
    mask = model.config.mask_token_id
    batch = 32
    for i in range(0, len(cands), batch):
        rows, masked, targets = [], [], []
        for c in cands[i : i + batch]:
            tpl = c.template
            prefix = head_ids + tokenizer.encode(source[offsets[line - 1] : tpl.start] + tpl.before)
            fill_ids = tokenizer.encode(c.fill)
            suffix = tokenizer.encode(tpl.after + source[tpl.end : offsets[line]]) + tail_ids
            rows.append(prefix + [mask] * len(fill_ids) + suffix)
            masked.append(list(range(len(prefix), len(prefix) + len(fill_ids))))
            targets.append(fill_ids)
        for c, lp in zip(cands[i : i + batch], masked_logprobs(model, rows, masked, targets), strict=True):
            c.logprob = lp


def repair(
    workspace: Path,
    test_cmd: str,
    failing: TestRun,
    model: Any,
    tokenizer: Any,
    *,
    candidates: int = 64,
    time_limit: float = 300.0,
    workers: int = 2,
    per_run_timeout: float | None = None,
    commit: str = "draft_verify",
    generator: Any = None,
    drafts_per_template: int = 6,
    max_lines: int = 12,
    on_attempt: Callable[[Attempt], None] | None = None,
    info: Callable[[str], None] | None = None,
) -> RepairResult:
    """Search for a patch that makes `test_cmd` pass; the workspace itself is never modified.

    Bounded by `candidates` verification runs and `time_limit` seconds (drafting included). `per_run_timeout`
    defaults to a generous multiple of the failing run's time; a candidate that hangs is killed at that limit.
    """
    workspace = Path(workspace)
    start = time.monotonic()
    deadline = start + time_limit
    say = info or (lambda _msg: None)
    if per_run_timeout is None:
        per_run_timeout = max(10.0, 4 * failing.seconds + 5)

    suspects = rank_lines(
        workspace,
        failing.output,
        test_cmd,
        model=model,
        tokenizer=tokenizer,
        coverage_timeout=min(4 * per_run_timeout, max(1.0, deadline - time.monotonic())),
    )[:max_lines]
    say(
        "suspects: "
        + ", ".join(f"{s.path}:{s.line}" for s in suspects[:5])
        + (" ..." if len(suspects) > 5 else "")
        if suspects
        else "no suspicious lines found"
    )
    attempts: list[Attempt] = []
    seen: set[tuple[str, str]] = set()
    drafted = 0
    winner: Attempt | None = None
    with ExitStack() as stack, ThreadPoolExecutor(max_workers=workers) as pool:
        scratches: queue.Queue[Path] = queue.Queue()
        for _ in range(workers):
            scratches.put(stack.enter_context(scratch_copy(workspace)))
        cancel = threading.Event()
        for r in range(0, len(suspects), LINES_PER_ROUND):
            if winner or len(attempts) >= candidates or time.monotonic() >= deadline:
                break
            round_cands = _draft_round(
                model,
                tokenizer,
                workspace,
                suspects[r : r + LINES_PER_ROUND],
                suspects[0].score,
                drafts=drafts_per_template,
                commit=commit,
                generator=generator,
            )
            fresh = [c for c in round_cands if (c.path, c.key) not in seen]
            seen.update((c.path, c.key) for c in fresh)
            drafted += len(fresh)
            say(
                f"round {r // LINES_PER_ROUND + 1}: {len(fresh)} candidates for "
                + ", ".join(f"{s.path}:{s.line}" for s in suspects[r : r + LINES_PER_ROUND])
            )
            winner = _verify_all(
                pool,
                workers,
                scratches,
                cancel,
                workspace,
                test_cmd,
                failing.failed,
                fresh,
                budget=candidates - len(attempts),
                deadline=deadline,
                per_run_timeout=per_run_timeout,
                attempts=attempts,
                on_attempt=on_attempt,
            )
    seconds = time.monotonic() - start
    if winner:
        c = winner.candidate
        report = (
            f"verified: {c.template.describe(_read(workspace, c.path))} -> {c.fill!r} ({len(attempts)} tried)"
        )
        return RepairResult(
            True,
            winner.diff,
            [c.path],
            len(attempts),
            seconds,
            {c.path: c.source},
            attempts,
            suspects,
            drafted,
            report,
        )
    why = (
        "time limit"
        if time.monotonic() >= deadline
        else ("candidate limit" if len(attempts) >= candidates else "no more candidates")
    )
    report = (
        f"not verified: {len(attempts)} candidates tried of {drafted} drafted for {len(suspects)} "
        f"suspicious lines; stopped by {why}"
    )
    return RepairResult(False, "", [], len(attempts), seconds, None, attempts, suspects, drafted, report)


def _read(workspace: Path, rel: str) -> str:
    return (workspace / rel).read_text(encoding="utf-8")


def _draft_round(
    model: Any,
    tokenizer: Any,
    workspace: Path,
    suspects: list[Suspect],
    top: float,
    *,
    drafts: int,
    commit: str,
    generator: Any,
) -> list[Candidate]:
    """Candidates for a few lines, best first: model likelihood plus the line's (log) suspiciousness."""
    import math

    out: list[Candidate] = []
    for s in suspects:
        source = _read(workspace, s.path)
        for c in draft_line(
            model, tokenizer, source, s.path, s.line, drafts=drafts, commit=commit, generator=generator
        ):
            c.prior = math.log(max(s.score, 1e-3) / max(top, 1e-3))
            out.append(c)
    return sorted(out, key=lambda c: -c.score)


def _verify_all(
    pool: ThreadPoolExecutor,
    workers: int,
    scratches: queue.Queue[Path],
    cancel: threading.Event,
    workspace: Path,
    test_cmd: str,
    failing: list[str],
    cands: list[Candidate],
    *,
    budget: int,
    deadline: float,
    per_run_timeout: float,
    attempts: list[Attempt],
    on_attempt: Callable[[Attempt], None] | None,
) -> Attempt | None:
    """Run candidates in rank order, `pool`'s width at a time; the first to pass all tests stops the rest."""

    def check(c: Candidate) -> Attempt:
        scratch = scratches.get()
        try:
            timeout = max(1.0, min(per_run_timeout, deadline - time.monotonic()))
            run = verify_in(scratch, {c.path: c.source}, test_cmd, failing, timeout, cancel=cancel)
        finally:
            restore(scratch, workspace, [c.path])
            scratches.put(scratch)
        return Attempt(c, run, unified_diff(c.path, _read(workspace, c.path), c.source))

    pending: set[Future[Attempt]] = set()
    todo = iter(cands[: max(0, budget)])
    winner: Attempt | None = None
    while True:
        while not winner and len(pending) < workers and time.monotonic() < deadline:
            c = next(todo, None)
            if c is None:
                break
            pending.add(pool.submit(check, c))
        if not pending:
            return winner
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            attempt = future.result()
            attempts.append(attempt)
            if on_attempt:
                on_attempt(attempt)
            if attempt.run.passed and not winner:
                winner = attempt
                cancel.set()  # kill the runs still going: their answer no longer matters


def run_local_repair(
    settings: Any, workspace: Path, test_cmd: str, failing: TestRun, store: Any, session_id: str, io: Any
) -> RepairResult:
    """`agent fix --backend local`: load the local model, search, and record every candidate as a tool run."""
    model, tokenizer, generator = load_local(settings)
    say = getattr(io, "info", None) if io is not None else None
    progress = getattr(io, "progress", None) if io is not None else None
    tried = 0

    def record(attempt: Attempt) -> None:
        nonlocal tried
        tried += 1
        store.record_tool_run(session_id, name="verify_candidate", **attempt_record(tried, attempt))
        if progress:
            progress(tried, settings.candidates)

    result = repair(
        Path(workspace),
        test_cmd,
        failing,
        model,
        tokenizer,
        candidates=settings.candidates,
        time_limit=settings.time_limit,
        commit=decode_rule(settings),
        generator=generator,
        on_attempt=record,
        info=say,
    )
    if say:
        say(result.report)
    return result


def decode_rule(settings: Any) -> str:
    """The sampler's commit rule (setting `local_commit`, env `KIRI_LOCAL_COMMIT`): draft-and-verify by default,
    `fixed` for one token per step (the benchmark's baseline)."""
    return settings.local_commit


def load_local(settings: Any) -> tuple[Any, Any, Any]:
    """(model, tokenizer, seeded torch.Generator) for the configured local model; one clear error if it fails."""
    import torch

    from local_model.load import load_model

    name = settings.local_model_path or settings.model
    try:
        model, tokenizer = load_model(name, device=settings.device)
    except (OSError, ValueError) as exc:
        raise BackendError(f"cannot load the local model {name}: {exc}") from None
    model.eval()
    device = next(model.parameters()).device
    # Seeded: the same failing project gives the same drafts, so a run can be reproduced and compared.
    return model, tokenizer, torch.Generator(device=device).manual_seed(0)


def attempt_record(n: int, attempt: Attempt) -> dict[str, Any]:
    """The `record_tool_run` keyword arguments for the n-th tried candidate (the diff goes in the arguments)."""
    c = attempt.candidate
    arguments = {
        "path": c.path,
        "template": c.template.kind,
        "line": c.template.line,
        "fill": c.fill,
        "logprob": round(c.logprob, 4),
        "diff": attempt.diff,
    }
    return {
        "tool_call_id": f"repair-{n}",
        "arguments": json.dumps(arguments),
        "result": attempt.run.summary(),
        "duration_s": attempt.run.seconds,
    }
