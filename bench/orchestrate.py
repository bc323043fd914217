"""One corpus size, stage by stage: generate the pages, build (fake and real embedders),
edit one page and rebuild, choose the serving index, measure the in-process floor, then
serve and load it over HTTP. Everything happens in a temporary folder."""

from __future__ import annotations

import argparse
import gc
import shutil
import tempfile
import time
from pathlib import Path

from bench import recall, synth
from bench.builds import RunState, build_surrogate, index_size, run_build
from bench.common import ASSUMED_PASSAGES_PER_S, REAL_EMBEDDER, RunProfile, log
from bench.floor import measure_in_process
from bench.results import SizeResult
from bench.sampling import wait_idle
from bench.server import Server
from bench.serving import Traffic, serve_and_load
from bench.spy import py_spy


def _builds(
    result: SizeResult,
    corpus: Path,
    specs: list[synth.PageSpec],
    args: argparse.Namespace,
    state: RunState,
    tmp: Path,
) -> bool:
    """Full builds, then one page edited and rebuilt; True when a real build ran."""
    size = result.pages
    logs = tmp / "build.log"
    real = size <= args.real_max or args.full_build
    passages_guess = size * 9
    rate = state.real_passages_per_s or ASSUMED_PASSAGES_PER_S
    estimate = passages_guess / rate
    result.real_build_estimate_s = estimate
    if not real:
        log(
            f"{size}: a real-model build of ~{passages_guess} passages would take "
            f"~{estimate / 60:.0f} min at {rate:.0f} passages/s; not measured "
            "(pass --full-build to measure it); extrapolating instead"
        )
    build_cap = max(900.0, 3 * estimate + 300)
    spy = py_spy() if args.profile else None
    result.idle_before_builds = wait_idle(args.wait_idle)
    log(f"{size}: bot build, fake embedder")
    result.build_fake = run_build(corpus, tmp / "index-fake", "fake", build_cap, logs)
    if real:
        log(f"{size}: bot build, real model (estimate ~{estimate:.0f} s)")
        result.build_real = run_build(corpus, tmp / "index-real", REAL_EMBEDDER, build_cap, logs)
        if result.build_real.ok:
            state.real_passages_per_s = result.build_real.passages_per_s
    edited = synth.edit_page(corpus, specs, which=size // 2, revision=1)
    result.edited_page = edited.name
    log(f"{size}: edited {edited.name}; rebuilding")
    raw = tmp / "rebuild-fake.raw"
    result.rebuild_fake = run_build(
        corpus, tmp / "index-fake", "fake", build_cap, logs, (spy, raw) if spy else None
    )
    if real:
        raw = tmp / "rebuild-real.raw"
        result.rebuild_real = run_build(
            corpus, tmp / "index-real", REAL_EMBEDDER, build_cap, logs, (spy, raw) if spy else None
        )
    return result.real_build_ok


def _serving_index(
    result: SizeResult, corpus: Path, args: argparse.Namespace, tmp: Path
) -> tuple[Path, str]:
    """The index and embedder `bot serve` runs with: the real build when there is one,
    else the fake one (--fake-serving) or a surrogate of the same passages."""
    if result.real_build_ok:
        index, embedder, serving = tmp / "index-real", REAL_EMBEDDER, "real"
    elif args.fake_serving:
        index, embedder, serving = tmp / "index-fake", "fake", "fake"
    else:
        log(f"{result.pages}: writing a serving index with surrogate passage vectors")
        index, embedder, serving = tmp / "index-serve", REAL_EMBEDDER, "surrogate"
        result.surrogate_build_s = build_surrogate(corpus, index)
    result.serving_index = serving
    result.index_size = index_size(index)
    return index, embedder


def _measure(
    result: SizeResult,
    corpus: Path,
    specs: list[synth.PageSpec],
    args: argparse.Namespace,
    profile: RunProfile,
    state: RunState,
    tmp: Path,
) -> None:
    """In-process floor (and IVF recall on real vectors), then the server over HTTP."""
    size = result.pages
    serve_index, serve_embedder = _serving_index(result, corpus, args, tmp)
    uncovered = synth.uncovered_compounds(size, seed=args.seed)
    questions = synth.questions(specs, uncovered, seed=args.seed)
    inproc_questions = [next(questions) for _ in range(profile.inproc_runs)]
    result.idle_before_in_process = wait_idle(args.wait_idle)
    log(f"{size}: in-process floor and breakdown ({serve_embedder})")
    inproc, probe = measure_in_process(
        corpus, serve_index, serve_embedder, inproc_questions, profile, tmp
    )
    result.in_process = inproc
    gc.collect()
    if not state.bulk_embed_passages_per_s and inproc.bulk_embed_passages_per_s:
        state.bulk_embed_passages_per_s = inproc.bulk_embed_passages_per_s
    if result.real_build_ok:  # real vectors: how far the IVF index is from exact search
        log(f"{size}: IVF recall@{recall.K} against flat on the real build's vectors")
        inproc.ivf_recall = recall.measure_index(
            serve_index, [q.text for q in inproc_questions], serve_embedder
        )
    result.idle_before_serve = wait_idle(args.wait_idle)
    log(f"{size}: bot serve ({result.serving_index} index, BOT_EMBEDDER={serve_embedder})")
    server = Server(corpus, serve_index, serve_embedder, tmp, workers=args.workers)
    traffic = Traffic(questions, synth.repeated_question(specs))
    spy = py_spy() if args.profile else None
    result.http = serve_and_load(server, traffic, profile, tmp, spy, size, probe)
    del probe  # the model and the index it holds, before the next size
    gc.collect()


def run_size(
    size: int, args: argparse.Namespace, profile: RunProfile, state: RunState
) -> SizeResult:
    tmp = Path(tempfile.mkdtemp(prefix=f"bot-bench-{size}-"))
    result = SizeResult(pages=size, tmp=str(tmp))
    try:
        corpus = tmp / "corpus"
        t = time.perf_counter()
        specs = synth.write_corpus(corpus, size, seed=args.seed)
        result.generate_s = time.perf_counter() - t
        result.grid = dict(zip(("compounds", "conditions"), synth.grid(size), strict=True))
        log(f"{size}: {size} pages generated in {result.generate_s:.1f} s -> {corpus}")
        measured = _builds(result, corpus, specs, args, state, tmp)
        _measure(result, corpus, specs, args, profile, state, tmp)
        if measured:
            state.reference = result
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return result
