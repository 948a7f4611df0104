"""Draft-and-verify repair with the local diffusion coder: kiri's offline `agent fix --backend local`.

locate (localize.py) -> masked templates per suspicious line (templates.py) -> the model fills them -> drop drafts
that cannot be right -> rank by how much more the model likes the fill than the original, plus the line's
suspiciousness -> verify in scratch copies on all workers (verify.py, warm.py), failing tests first -> the first
candidate that passes every test.

The search runs in rounds so that verification starts early and costly drafting happens only when needed:
- round 1, every suspicious line: each span the model may rewrite with ONE token is a single masked position, so
  one batched forward pass gives the model's whole distribution there and its `ENUMERATE_TOP` likeliest tokens are
  the drafts (exact, distinct, no sampling needed); plus deleting the line;
- later rounds, a few lines at a time: longer fills, drafted with `generate()` (the configured commit rule).
Candidates are model drafts plus line deletion; there are no hand-written mutation operators, so the benchmark
measures the model. Drafts that do not parse, add a name the file never uses or add a pointless statement are dropped
before any test runs (see `_Admit`).
"""

from __future__ import annotations

import ast
import builtins
import difflib
import json
import queue
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import BackendError
from agent.localize import Suspect, encode_lines, masked_distributions, masked_logprobs, rank_lines, window
from agent.templates import Template, line_offsets, templates_for_line
from agent.verify import TestRun, command_env, restore, run_tests, scratch_copy, verify_in
from agent.warm import WarmPytest
from tools.secrets import Secrets

# A deletion has no model likelihood; it is ranked as if the model gave its (empty) fill this mean log-prob.
DELETE_LOGPROB = -1.5
LINES_PER_ROUND = 3
ENUMERATE_TOP = 96  # one-token fills kept per masked position, likeliest first
UNKNOWN_ORIGINAL_LOGPROB = -3.0  # see Candidate.score
DRAFT_ROWS = 48  # rows per generate() call when drafting
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
    # The replaced text's log-probability in the same slot, when it is one token (see `score`).
    original_logprob: float | None = None

    @property
    def score(self) -> float:
        """How much more the model likes the fill than the text it replaces, plus the line's suspiciousness.

        The gain over the original, not the fill's likelihood alone, is what points at a bug: at a buggy slot the
        model prefers something else. Where the original is not one token its likelihood in the slot is unknown
        and taken as `UNKNOWN_ORIGINAL_LOGPROB`. (On the repair benchmark, ranking by the gain put 14 of 45 fixes
        among the first 256 candidates, ranking by the fill's likelihood 9.)
        """
        original = UNKNOWN_ORIGINAL_LOGPROB if self.original_logprob is None else self.original_logprob
        return self.logprob - original + self.prior


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
    tree = _parse(source)
    return None if tree is None else ast.dump(tree)


def _parse(source: str) -> ast.Module | None:
    """The module's tree, or None if it does not parse."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)  # drafts like `1if` warn; we only want the tree
            return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


# Builtins a one-token fix may call although the file does not mention them yet (`max` for `min`, `len`, `abs`).
_BUILTIN_FUNCTIONS = frozenset(n for n in dir(builtins) if n.islower() and not n.startswith("_"))
_EFFECTS = (ast.Call, ast.Await, ast.Yield, ast.YieldFrom)


def code_facts(source: str | ast.Module) -> tuple[set[str], int] | None:
    """(identifiers the module uses or binds, number of statements without effect); None if it does not parse.

    A statement without effect is an expression statement that calls nothing (`1`, `x`, `a < b`), docstrings
    excepted: the "pointless statement" of linters. Takes the source or its parsed tree.
    """
    tree = _parse(source) if isinstance(source, str) else source
    if tree is None:
        return None
    names: set[str] = set()
    pointless = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                pointless -= 1  # the docstring, counted below
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        if isinstance(node, ast.Expr) and not isinstance(node.value, _EFFECTS):
            pointless += 1
    return names, pointless


class _Admit:
    """Decides whether a drafted file is a new candidate worth a test run, before any test runs.

    It must parse, differ in meaning from the original, use no identifier the file does not already have (a
    builtin function excepted: a new name is a NameError or a dead store), and add no statement without effect.
    A tiny model proposes many word pieces; each would otherwise cost a test run to reject.
    """

    def __init__(self, path: str, source: str) -> None:
        self.path, self.source = path, source
        self.original_key = semantic_key(path, source)
        self.facts = code_facts(source) if path.endswith(".py") else None

    def key(self, new: str) -> str | None:
        if not self.path.endswith(".py"):
            return None if new == self.source else new
        tree = _parse(new)  # once: the key and the facts both come from it
        if tree is None:
            return None
        key = ast.dump(tree)
        if key == self.original_key:
            return None
        if self.facts is not None:
            facts = code_facts(tree)
            if facts is None or facts[1] > self.facts[1] or facts[0] - self.facts[0] - _BUILTIN_FUNCTIONS:
                return None
        return key


def _keep(out: dict[str, Candidate], key: str, cand: Candidate, original_length: int) -> None:
    """Add `cand` unless an equivalent one is kept; of equivalents prefer the smaller edit (the fix as written)."""
    old = out.get(key)
    if old is None or abs(len(cand.source) - original_length) < abs(len(old.source) - original_length):
        out[key] = cand


def _mask_lengths(tpl: Template, original_tokens: int) -> list[int]:
    """How many mask tokens `generate()` offers a fill: the original length and a little more (`n` -> `n + 1`).

    One mask is never among them: one-token fills are enumerated exactly by `enumerate_line`.
    """
    if tpl.kind.startswith("insert"):
        return [6, 12]
    n = max(1, original_tokens)
    return sorted({n, n + 1 if tpl.kind == "token" else n + 2} - {1})


@dataclass
class _LineContext:
    """A suspicious line cut for the model: token ids before and after it within the context window."""

    source: str
    line: int
    head_ids: list[int]
    tail_ids: list[int]
    line_start: int
    line_end: int

    @classmethod
    def of(cls, tokenizer: Any, source: str, line: int) -> _LineContext:
        offsets, line_ids = line_offsets(source), encode_lines(tokenizer, source)
        lo, hi = window(line_ids, line - 1, CONTEXT_TOKENS)
        return cls(
            source,
            line,
            [t for ids in line_ids[lo : line - 1] for t in ids],
            [t for ids in line_ids[line:hi] for t in ids],
            offsets[line - 1],
            offsets[line],
        )

    def around(self, tokenizer: Any, tpl: Template) -> tuple[list[int], list[int]]:
        """(prefix ids, suffix ids) around `tpl`'s span, which lies within the line (an insertion on its edge)."""
        prefix = self.head_ids + tokenizer.encode(self.source[self.line_start : tpl.start] + tpl.before)
        suffix = tokenizer.encode(tpl.after + self.source[tpl.end : self.line_end]) + self.tail_ids
        return prefix, suffix


def _special_ids(config: Any) -> set[int]:
    return {config.mask_token_id, config.pad_token_id, *config.stop_ids}


def _add_fill(
    out: dict[str, Candidate],
    admit: _Admit,
    tpl: Template,
    fill: str,
    logprob: float,
    base: float | None = None,
) -> None:
    if not fill.strip() or any(c in fill for c in "\r\n#") or fill.rstrip().endswith("\\"):
        # One-line code edits only: an empty fill is the deletion's job, a comment is no fix, and a trailing
        # backslash joins the next line (a deletion in disguise).
        return
    # Spans start and end at token boundaries and the text around them keeps its own spacing, so the model's
    # leading space (' b' is one token, 'b' after `(` is rarer) is dropped: `norm(b)`, not `norm( b)`.
    fill = fill.strip()
    new = tpl.apply(admit.source, fill)
    key = admit.key(new)
    if key is not None:
        _keep(out, key, Candidate(admit.path, new, tpl, fill, logprob, 0.0, key, base), len(admit.source))


def enumerate_line(
    model: Any, tokenizer: Any, source: str, path: str, line: int, *, top: int
) -> list[Candidate]:
    """The line's deletion plus, for every span of it, the `top` likeliest one-token fills: one forward pass.

    Each fill's logprob is the model's exact log-probability of that token at the masked position.
    """
    import torch

    config = model.config
    special = _special_ids(config)
    ctx = _LineContext.of(tokenizer, source, line)
    admit = _Admit(path, source)
    out: dict[str, Candidate] = {}
    rows: list[tuple[Template, list[int], list[int]]] = []
    for tpl in templates_for_line(source, path, line):
        if not tpl.needs_model:
            new = tpl.apply(source, "")
            key = admit.key(new)
            if key is not None:
                _keep(out, key, Candidate(path, new, tpl, "", DELETE_LOGPROB, 0.0, key), len(source))
            continue
        prefix, suffix = ctx.around(tokenizer, tpl)
        rows.append((tpl, prefix + [config.mask_token_id] + suffix, prefix))
    if rows:
        positions = [[len(prefix)] for _, _, prefix in rows]
        logp = masked_distributions(model, [row for _, row, _ in rows], positions)
        for (tpl, _row, _prefix), dist in zip(rows, logp, strict=True):
            dist = dist[0]
            dist[list(special)] = float("-inf")
            original = tokenizer.encode(tpl.original(source))
            base = float(dist[original[0]]) if len(original) == 1 else None
            values, tokens = torch.topk(dist, min(top, dist.numel()))
            for value, token in zip(values.tolist(), tokens.tolist(), strict=True):
                _add_fill(out, admit, tpl, tokenizer.decode([token]), value, base)
    return list(out.values())


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
    deadline: float = float("inf"),
) -> list[Candidate]:
    """Fills of two or more tokens for one line, drafted by `generate()`: parsing, distinct; logprob set.

    Per template and fill length, one greedy draft and `drafts - 1` sampled ones, all templates of a fill length in
    one batched call. Stops drafting (keeping what it has) once `deadline` (time.monotonic()) has passed.
    """
    import torch

    from local_model.sampler import generate

    config = model.config
    mask, device = config.mask_token_id, next(model.parameters()).device
    special = _special_ids(config)
    ctx = _LineContext.of(tokenizer, source, line)
    admit = _Admit(path, source)
    out: dict[str, Candidate] = {}  # semantic key -> candidate

    rows: list[tuple[Template, list[int], list[int], int]] = []
    for tpl in templates_for_line(source, path, line):
        if not tpl.needs_model:
            continue
        prefix, suffix = ctx.around(tokenizer, tpl)
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
            per = template_ids.shape[0] // len(group)
            # In slices of DRAFT_ROWS rows, so that the deadline is checked every few seconds.
            for first in range(0, template_ids.shape[0], DRAFT_ROWS):
                if time.monotonic() >= deadline:
                    break
                rows_ids = template_ids[first : first + DRAFT_ROWS]
                ids, _stats = generate(
                    model, template=rows_ids, commit=commit, temperature=temp, generator=generator
                )
                for r in range(rows_ids.shape[0]):
                    tpl, prefix, _suffix, m = group[(first + r) // per]
                    fill_ids = [
                        int(t) for t in ids[r, len(prefix) : len(prefix) + m] if int(t) not in special
                    ]
                    _add_fill(out, admit, tpl, tokenizer.decode(fill_ids), 0.0)

    _score_fills(model, tokenizer, ctx, list(out.values()))
    return list(out.values())


def _score_fills(model: Any, tokenizer: Any, ctx: _LineContext, cands: list[Candidate]) -> None:
    """Set each candidate's mean log-probability of its fill given the context, one forward pass per batch."""
    if not cands:
        return
    mask = model.config.mask_token_id
    batch = 32
    for i in range(0, len(cands), batch):
        rows, masked, targets = [], [], []
        for c in cands[i : i + batch]:
            prefix, suffix = ctx.around(tokenizer, c.template)
            fill_ids = tokenizer.encode(c.fill)
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
    candidates: int = 256,
    time_limit: float = 300.0,
    workers: int = 2,
    per_run_timeout: float | None = None,
    commit: str = "draft_verify",
    generator: Any = None,
    drafts_per_template: int = 6,
    max_lines: int = 12,
    on_attempt: Callable[[Attempt], None] | None = None,
    info: Callable[[str], None] | None = None,
    warm_pytest: bool = True,
    secrets: Secrets | None = None,
) -> RepairResult:
    """Search for a patch that makes `test_cmd` pass; the workspace itself is never modified.

    Bounded by `candidates` verification runs and `time_limit` seconds (drafting included). `per_run_timeout`
    defaults to a multiple of the failing run's time; a candidate that hangs is killed at that limit. With
    `warm_pytest`, plain pytest commands run in warm servers (agent/warm.py) instead of cold processes. Every
    test run gets our environment without `secrets` (default: kiri's key variables).
    """
    workspace = Path(workspace)
    start = time.monotonic()
    deadline = start + time_limit
    say = info or (lambda _msg: None)

    suspects = rank_lines(
        workspace,
        failing.output,
        test_cmd,
        model=model,
        tokenizer=tokenizer,
        coverage_timeout=min(
            4 * (per_run_timeout or 2 * failing.seconds + 5), max(1.0, deadline - time.monotonic())
        ),
        secrets=secrets,
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
        # One scratch copy per worker, each with its own warm pytest server when the command allows one.
        scratches: queue.Queue[tuple[Path, WarmPytest | None]] = queue.Queue()
        for _ in range(workers):
            scratch = stack.enter_context(scratch_copy(workspace))
            warm = WarmPytest.for_command(test_cmd, command_env(secrets=secrets)) if warm_pytest else None
            if warm is not None:
                stack.enter_context(warm)
            scratches.put((scratch, warm))
        if per_run_timeout is None:
            per_run_timeout = _run_timeout(workspace, test_cmd, failing, scratches, secrets)
        cancel = threading.Event()
        # Round 1 enumerates one-token fills on every suspicious line (cheap: a forward pass per line); then
        # `generate()` drafts longer fills a few lines at a time.
        plan = [("enumerate", suspects)] + [
            ("draft", suspects[r : r + LINES_PER_ROUND]) for r in range(0, len(suspects), LINES_PER_ROUND)
        ]
        for number, (how, lines) in enumerate(plan, 1):
            if winner or len(attempts) >= candidates or time.monotonic() >= deadline or not lines:
                break
            round_cands = _draft_round(
                model,
                tokenizer,
                workspace,
                lines,
                suspects[0].score,
                how=how,
                drafts=drafts_per_template,
                commit=commit,
                generator=generator,
                deadline=deadline,
            )
            fresh = [c for c in round_cands if (c.path, c.key) not in seen]
            seen.update((c.path, c.key) for c in fresh)
            drafted += len(fresh)
            say(
                f"round {number} ({'one-token fills' if how == 'enumerate' else 'drafts'}): {len(fresh)} candidates"
                " for "
                + ", ".join(f"{s.path}:{s.line}" for s in lines[:LINES_PER_ROUND])
                + (" ..." if len(lines) > LINES_PER_ROUND else "")
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
                secrets=secrets,
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


def _run_timeout(
    workspace: Path,
    test_cmd: str,
    failing: TestRun,
    scratches: queue.Queue[tuple[Path, WarmPytest | None]],
    secrets: Secrets | None = None,
) -> float:
    """How long one candidate's test run may take before it counts as hung.

    Candidates that loop forever are common (`hi = mid` in a binary search), so the limit matters as much as the
    run time itself. Cold, it is a multiple of the failing run; warm, one warm run of the unchanged suite gives the
    real cost of a run (a tenth of a second for a small project) and the limit is a multiple of that.
    """
    scratch, warm = scratches.get()
    try:
        if warm is not None:
            # Twice: the first run also waits for the server to finish starting.
            runs = [
                run_tests(scratch, test_cmd, max(10.0, 4 * failing.seconds + 5), warm=warm, secrets=secrets)
                for _ in range(2)
            ]
            if not any(r.timed_out for r in runs):
                return max(1.5, 5 * runs[-1].seconds + 0.5)
        return max(5.0, 2 * failing.seconds + 3)
    finally:
        scratches.put((scratch, warm))


def _read(workspace: Path, rel: str) -> str:
    return (workspace / rel).read_text(encoding="utf-8")


def _draft_round(
    model: Any,
    tokenizer: Any,
    workspace: Path,
    suspects: list[Suspect],
    top: float,
    *,
    how: str,
    drafts: int,
    commit: str,
    generator: Any,
    deadline: float,
) -> list[Candidate]:
    """Candidates for some lines, best first by `Candidate.score`; each gets the line's (log) suspiciousness.

    `how` is "enumerate" (one-token fills and deletions) or "draft" (longer fills from `generate()`).
    """
    import math

    out: list[Candidate] = []
    for s in suspects:
        if time.monotonic() >= deadline:
            break
        source = _read(workspace, s.path)
        if how == "enumerate":
            found = enumerate_line(model, tokenizer, source, s.path, s.line, top=ENUMERATE_TOP)
        else:
            found = draft_line(
                model,
                tokenizer,
                source,
                s.path,
                s.line,
                drafts=drafts,
                commit=commit,
                generator=generator,
                deadline=deadline,
            )
        for c in found:
            c.prior = math.log(max(s.score, 1e-3) / max(top, 1e-3))
            out.append(c)
    return sorted(out, key=lambda c: -c.score)


def _verify_all(
    pool: ThreadPoolExecutor,
    workers: int,
    scratches: queue.Queue[tuple[Path, WarmPytest | None]],
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
    secrets: Secrets | None = None,
) -> Attempt | None:
    """Run candidates in rank order, `pool`'s width at a time; the first to pass all tests stops the rest."""

    def check(c: Candidate) -> Attempt:
        scratch, warm = scratches.get()
        try:
            timeout = max(1.0, min(per_run_timeout, deadline - time.monotonic()))
            run = verify_in(
                scratch,
                {c.path: c.source},
                test_cmd,
                failing,
                timeout,
                cancel=cancel,
                warm=warm,
                secrets=secrets,
            )
        finally:
            restore(scratch, workspace, [c.path])
            scratches.put((scratch, warm))
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
    secrets = settings.secrets()
    say = getattr(io, "info", None) if io is not None else None
    progress = getattr(io, "progress", None) if io is not None else None
    tried = 0

    def record(attempt: Attempt) -> None:
        nonlocal tried
        tried += 1
        # A candidate's test log may print a key: recorded redacted like every tool result.
        store.record_tool_run(
            session_id, name="verify_candidate", **secrets.redact_json(attempt_record(tried, attempt))
        )
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
        secrets=secrets,
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
        model, tokenizer = load_model(name, device=settings.device, compile_mode=settings.local_compile)
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
