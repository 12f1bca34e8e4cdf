"""The `resemote` command: argument parsing only; the work is done by the package's modules.

Every failure the user can fix (a missing file, a malformed row, an unknown name, a bad checkpoint) is a
`ResEmoteError` and ends as one line on stderr with exit status 2; `--debug` shows the traceback.
"""
from __future__ import annotations

import argparse
import json
import sys

from resemote.errors import ResEmoteError


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=2))


# --- commands (each imports its module lazily so `resemote --help` stays fast) ---------------------------

def cmd_synth(a: argparse.Namespace) -> None:
    from resemote.data.synthetic import write_synthetic
    path = write_synthetic(a.out, a.n_train, a.n_val, a.n_test, a.seed)
    print(f"wrote {path} ({a.n_train} train / {a.n_val} val / {a.n_test} test synthetic faces, seed {a.seed})")


def cmd_stats(a: argparse.Namespace) -> None:
    from resemote.analysis.stats import dataset_stats, decoded_counts, format_stats, label_summary
    if a.labels_only and a.decode:
        raise ResEmoteError("expected --labels-only (a copy without images) or --decode, not both")
    if a.summary and not a.labels_only:
        raise ResEmoteError(f"--summary {a.summary}: expected --labels-only with it (a copy with images gets "
                            f"its summary from its dataset page, notebooks/datasets.ipynb)")
    s = dataset_stats(a.dataset, a.root, strict=a.strict, labels_only=a.labels_only)
    if a.summary:  # what `resemote publish` records: only counts from the label file alone are written here
        from resemote.io import write_json
        write_json(a.summary, label_summary(a.dataset, a.root))
    dec = decoded_counts(a.dataset, a.root, progress=not a.json) if a.decode else None
    _print_json({**s, "decoded": dec} if dec else s) if a.json else print(format_stats(s, decoded=dec))


def cmd_audit(a: argparse.Namespace) -> None:
    from resemote.data.audit import format_audit
    from resemote.data.dataset_audit import audit_dataset
    r = audit_dataset(a.dataset, a.root, strict=a.strict)
    _print_json(r) if a.json else print(format_audit(r))
    if a.sheet:
        from resemote.data.pair_sheet import dataset_sheet
        chosen = dataset_sheet(a.dataset, a.root, a.sheet, r, n=a.sheet_pairs, seed=a.sheet_seed,
                               kind=a.sheet_kind, where=a.sheet_where, size=a.sheet_size)
        print(f"wrote {a.sheet}: {len(chosen)} {a.sheet_kind} pairs (seed {a.sheet_seed}), numbered by their "
              f"place in the audit's pair list", file=sys.stderr if a.json else sys.stdout)


def cmd_train(a: argparse.Namespace) -> None:
    from resemote.leakage import LeakExperiment
    from resemote.training import RunSpec, train
    spec = RunSpec(a.dataset, a.config, a.protocol, a.epochs, a.batch_size, a.lr, a.seed, a.image_size,
                   a.val_fraction, released_test_flips=a.released_test_flips, root=a.root, device=a.device,
                   leak=LeakExperiment(a.train_subset, a.leak_test_fraction, a.leak_copies))
    m = train(spec, a.out, strict=a.strict, state_interval=a.state_interval, compile_mode=a.compile_mode)
    lo, hi = m["test_accuracy_ci95"]
    tag = " [synthetic data]" if m.get("synthetic") else ""
    tag += " [test images leaked into training]" if m.get("leak_test_fraction") else ""
    print(f"{m['dataset']} {m['config']} seed {m['seed']}{tag}: test accuracy {m['test_accuracy']:.4f} "
          f"(95% CI {lo:.3f}-{hi:.3f}), best epoch {m['best_epoch']}; results in {a.out}/metrics.json")
    print(_clean_line(m))


def _clean_line(m: dict) -> str:
    """The clean-test figure (and, for a leak run, the leaked images') in one line."""
    c = m.get("clean_test") or {}
    if c.get("accuracy") is None:
        return f"clean test images: {c.get('missing') or 'none'}"
    lo, hi = c["ci95"]
    line = (f"clean test images (no copy in train or validation, not leaked): accuracy {c['accuracy']:.4f} "
            f"(95% CI {lo:.3f}-{hi:.3f}), n={c['n']:,} of {c['n_test']:,}")
    leaked = (m.get("leak") or {}).get("leaked") or {}
    if leaked.get("n"):
        line += f"; leaked test images: accuracy {leaked['accuracy']:.4f}, n={leaked['n']:,}"
    return line


def cmd_rescore(a: argparse.Namespace) -> None:
    from resemote.analysis.rescore import rescore_run
    m = rescore_run(a.run, a.root, a.device, progress=not a.quiet)
    print(f"wrote {a.run}/test_predictions.csv and the clean-test figure into {a.run}/metrics.json")
    print(_clean_line(m))


def cmd_evaluate(a: argparse.Namespace) -> None:
    from resemote.analysis.crosseval import cross_evaluate
    m = cross_evaluate(a.checkpoint, a.dataset, a.root, a.split, a.device, strict=a.strict,
                       flip_seed=a.released_test_flips)
    if a.json:
        _print_json(m)
    else:
        lo, hi = m["accuracy_ci95"]
        print(f"{a.dataset}/{a.split} ({m['n']} images): accuracy {m['accuracy']:.4f} (95% CI {lo:.3f}-{hi:.3f}), "
              f"balanced {m['balanced_accuracy']:.4f}, macro F1 {m['macro_f1']:.4f}, loss {m['loss']:.4f}")
        for note in m["coverage"]["notes"]:
            print(f"  note: {note}")


def cmd_predict(a: argparse.Namespace) -> int:
    from pathlib import Path
    from resemote.apps.predict import FACE_MARGIN, IMAGE_SUFFIXES, format_result, load_for_predict, predict_files, summary
    margin = FACE_MARGIN if a.margin is None else a.margin
    # photos: folders and image files; any other path is read as a video (resemote/apps/video.py)
    photos = [p for p in a.paths if Path(p).is_dir() or Path(p).suffix.lower() in IMAGE_SUFFIXES]
    videos = [p for p in a.paths if p not in photos]
    if not a.paths and a.camera is None:
        raise ResEmoteError("expected photos, folders or video files, or --camera INDEX")
    camera = None
    if videos or a.camera is not None:
        from resemote.apps.video import check_settings, open_camera, open_video
        if a.cam or a.cam_class is not None:
            raise ResEmoteError("Grad-CAM (--cam) is for photos; not for videos or the camera")
        check_settings(a.every, margin)
        for v in videos:  # every video and the camera open before any work starts
            open_video(v).release()
        camera = open_camera(a.camera) if a.camera is not None else None
    try:
        model, meta, size = load_for_predict(a.checkpoint, a.device)
    except BaseException:
        if camera is not None:
            camera.release()
        raise
    results = []
    if photos:
        for r in predict_files(photos, model, size=size, out=a.out, cam=a.cam or a.cam_class is not None,
                               cam_class=a.cam_class, cam_layer=a.cam_layer, margin=margin, batch_size=a.batch_size):
            results.append(r)
            if r.error:
                print(f"resemote: {r.error}", file=sys.stderr)
            elif not a.json:
                print(format_result(r), flush=True)
    sessions = _predict_videos(a, videos, camera, model, meta, size, margin)
    if a.json:
        doc = summary(a.checkpoint, meta, results, margin)
        _print_json({**doc, "videos": [s.as_dict() for s in sessions]} if sessions else doc)
    if any(s.stopped == "interrupted (Ctrl-C)" and not s.camera for s in sessions):
        return 130  # a video file cut short; its files are kept
    return 1 if any(r.error for r in results) else 0


def _predict_videos(a: argparse.Namespace, videos: list[str], camera, model, meta: dict, size: int,
                    margin: float) -> list:
    from resemote.apps.video import format_video, predict_camera, predict_video
    out = a.out or "emotions"
    kw = dict(size=size, every=a.every, margin=margin, max_frames=a.frames,
              meta={"checkpoint": str(a.checkpoint), "config": meta.get("config")})
    sessions = []
    for v in videos:
        sessions.append(predict_video(v, model, out, **kw))
        if not a.json:
            print(format_video(sessions[-1]), flush=True)
        if sessions[-1].stopped == "interrupted (Ctrl-C)":
            if camera is not None:
                camera.release()
            return sessions
    if camera is not None:
        if not a.json:
            print(f"camera {a.camera}: Ctrl-C stops", file=sys.stderr, flush=True)
        sessions.append(predict_camera(a.camera, model, out, cap=camera, show=not a.no_window, progress=False,
                                       on_window=lambda note: print(f"resemote: {note}", file=sys.stderr), **kw))
        if not a.json:
            print(format_video(sessions[-1]), flush=True)
    return sessions


def cmd_import_official(a: argparse.Namespace) -> None:
    from resemote.checkpoint import import_official
    path = import_official(a.src, a.out)
    print(f"wrote {path} and {path.with_suffix('.json').name} (fc4 permuted to Angry..Surprise order)")


def cmd_book(a: argparse.Namespace) -> int:
    from resemote.book.book_command import main
    return main(a.plan, a.runs, a.data, a.out, a.records, a.profile, run=not a.no_run,
                       build=not a.no_build, dry_run=a.dry_run, cores=a.cores, estimate=not a.no_estimate)


def cmd_publish(a: argparse.Namespace) -> int:
    from pathlib import Path
    from resemote.book import checkout
    from resemote.book.records import publish_archive, publish_dataset, publish_progress, publish_run
    checkout()  # a record names a commit of the checkout it was made from
    src = Path(a.path)
    if a.in_progress:  # a long run's progress: its history so far, never a test score
        dest = publish_progress(src, a.records, device=a.device)
        rec = json.loads((dest / "record.json").read_text())
        print(f"recorded {src} in {dest}: in progress, epoch {rec['epochs_done']} of {rec['epochs']}")
        return 0
    if src.is_file() and src.name.endswith((".tar", ".tar.gz", ".tgz")):  # a GPU call's runs.tar.gz
        written, refused = publish_archive(src, a.records)
        for dest in written:
            print(f"recorded {src.name}:{json.loads((dest / 'record.json').read_text())['source']} in {dest}")
        for line in refused:
            print(f"resemote: not recorded: {line}", file=sys.stderr)
        return 1 if refused else 0
    dest = publish_dataset(src, a.records) if src.suffix == ".json" else publish_run(src, a.records)
    print(f"recorded {src} in {dest}")
    return 0


def cmd_bench(a: argparse.Namespace) -> None:
    from resemote.perf.bench import bench, format_bench
    r = bench(a.device, a.images, a.epochs, config=a.config, batch_size=a.batch_size, workers=a.workers,
              compile=a.compile, compile_mode=a.compile_mode, inference_batch=a.inference_batch, repeats=a.repeats, seed=a.seed,
              skip_baseline=a.no_baseline, threads=a.threads, progress=not a.json)
    _print_json(r) if a.json else print(format_bench(r))


def cmd_ferplus_agreement(a: argparse.Namespace) -> None:
    from resemote.analysis.ferplus_agreement import agreement_record, format_agreement
    from resemote.book.records import record_agreement
    r = agreement_record(a.ferplus, a.fer2013, progress=not a.json)
    _print_json(r) if a.json else print(format_agreement(r))
    if a.record:
        print(f"recorded in {record_agreement(r, a.record)}", file=sys.stderr if a.json else sys.stdout)


def cmd_ferplus_score(a: argparse.Namespace) -> None:
    from pathlib import Path
    from resemote.analysis.ferplus_agreement import SCORE_FILE, format_score, score_checkpoint
    from resemote.io import write_json
    r = score_checkpoint(a.checkpoint, a.fer2013, a.ferplus, a.device, progress=not a.json)
    out = a.out or (Path(a.checkpoint) / SCORE_FILE if Path(a.checkpoint).is_dir() else None)
    if out:
        write_json(Path(out), r)
    _print_json(r) if a.json else print(format_score(r) + (f"\nwritten to {out}" if out else ""))


def _model_help() -> str:
    from resemote.models import model_names  # no torch: the registry builds networks lazily
    return (f"network: {', '.join(model_names())} (C1 is ResEmoteNet as released, C2-C6 its ablations, the rest "
            f"the released repository's comparison networks)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="resemote", description="ResEmoteNet, reproduced honestly.")
    p.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("synth", help="write a synthetic dataset in FER2013's fer2013.csv layout")
    s.add_argument("--out", required=True)
    s.add_argument("--n-train", type=int, default=700)
    s.add_argument("--n-val", type=int, default=175)
    s.add_argument("--n-test", type=int, default=350)
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=cmd_synth)

    for name, func, text in (("stats", cmd_stats, "Tables I and II of a dataset, computed from its files"),
                             ("audit", cmd_audit, "exact and near duplicates within and across splits")):
        s = sub.add_parser(name, help=text)
        s.add_argument("--dataset", required=True)
        s.add_argument("--root", required=True)
        s.add_argument("--json", action="store_true")
        s.add_argument("--strict", action="store_true", help="stop at the first damaged image or row")
        if name == "stats":
            s.add_argument("--decode", action="store_true", help="also count the images that decode (what "
                           "training uses), through the decode cache")
            s.add_argument("--labels-only", action="store_true", help="count the label file alone, for a copy "
                           "with no image (said as such; refused if any image it lists is present)")
            s.add_argument("--summary", metavar="JSON", help="with --labels-only: also write the counts for "
                           "`resemote publish` (e.g. runs/_datasets/rafdb.labels.json)")
        if name == "audit":
            s.add_argument("--sheet", metavar="PNG", help="also draw a seeded sample of pairs side by side, with "
                           "their difference, to judge them by eye (pixels: never commit it)")
            s.add_argument("--sheet-pairs", type=int, default=30, metavar="N", help="pairs on the sheet (default 30)")
            s.add_argument("--sheet-seed", type=int, default=0, help="the sample's seed (default 0)")
            s.add_argument("--sheet-kind", choices=["near", "mirror", "exact"], default="near")
            s.add_argument("--sheet-where", choices=["any", "across", "within"], default="any",
                           help="pairs across two splits, within one, or either (default)")
            s.add_argument("--sheet-size", type=int, default=64, help="decoded side of the drawn images (default 64)")
        s.set_defaults(func=func)

    s = sub.add_parser("train", help="train a network on a dataset (resumes an unfinished --out)")
    s.add_argument("--dataset", required=True)
    s.add_argument("--root", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--model", "--config", dest="config", default="C1", metavar="NAME", help=_model_help())
    s.add_argument("--protocol", default="paper",
                   help="paper (default), released, or fit (NOT the paper's: no dropout, flips, class weights or "
                        "plateau rule, last epoch tested; for the leak experiment)")
    s.add_argument("--epochs", type=int, help="default: the protocol's (80)")
    s.add_argument("--batch-size", type=int, help="default: the protocol's (16)")
    s.add_argument("--lr", type=float, help="default: the protocol's (1e-3)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    s.add_argument("--image-size", type=int, default=64)
    s.add_argument("--val-fraction", type=float, default=0.1,
                   help="share of train held out for validation where the dataset has no val split")
    s.add_argument("--released-test-flips", action="store_true",
                   help="flip test images at random as the released code does (off: deterministic)")
    s.add_argument("--strict", action="store_true", help="stop at the first damaged image or row")
    s.add_argument("--state-interval", type=float, default=60.0, metavar="SECONDS",
                   help="write the resume state at most this often (default 60; always after the first epoch; "
                        "0: after every epoch); a killed run resumes from the last one written")
    s.add_argument("--compile-mode", metavar="MODE",
                   help="torch.compile the training step on CUDA: default, reduce-overhead (CUDA graphs), "
                        "max-autotune or max-autotune-no-cudagraphs (default: off; ignored, with a note, elsewhere)")
    s.add_argument("--train-subset", type=int, metavar="N",
                   help="train on a stratified subset of about N training images (seed 0; the leak experiment)")
    s.add_argument("--leak-test-fraction", type=float, default=0.0, metavar="F",
                   help="NOT a reproduction: add a stratified fraction F of the test images to training (seeded by "
                        "--seed), to measure what a leak does; accuracy is then also reported on the leaked and "
                        "the clean test images")
    s.add_argument("--leak-copies", choices=["as-is", "released"], default="as-is",
                   help="the leaked images as they are, or as the released data_augmentation.py copies images (a "
                        "rotation of -30..30 degrees, a mirror image or a 0-10 px border crop, saved as JPEG)")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("rescore", help="add test_predictions.csv and the clean-test figure to a finished run "
                                       "made before runs wrote them (from its weights)")
    s.add_argument("run", help="the run directory (params.json, metrics.json, model.safetensors)")
    s.add_argument("--root", help="the dataset folder (default: the one the run recorded)")
    s.add_argument("--device", default="cpu", help="the device to predict on; the test accuracy must match the "
                                                   "run's exactly (default: cpu)")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_rescore)

    s = sub.add_parser("evaluate", help="evaluate a checkpoint on one split")
    s.add_argument("--checkpoint", required=True, help="ours (NAME.safetensors + NAME.json, given as either "
                                                       "file, NAME, or a run directory) or released (.pt/.pth)")
    s.add_argument("--dataset", required=True)
    s.add_argument("--root", required=True)
    s.add_argument("--split", default="test")
    s.add_argument("--device", default="auto")
    s.add_argument("--json", action="store_true")
    s.add_argument("--strict", action="store_true")
    s.add_argument("--released-test-flips", type=int, metavar="SEED",
                   help="flip test images at random (seeded), as the released code does")
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("predict", help="the emotion of every face in photos, videos or a camera (Haar-cascade "
                                       "detection)",
                       description="Detect faces (OpenCV's Haar cascade), crop each with a margin, and classify it "
                                   "with the training transform. Videos and the camera: a per-frame CSV, an "
                                   "annotated video, a timeline plot and a JSON summary in --out (default: emotions/). "
                                   "Exit status 1 if any photo could not be read.")
    s.add_argument("paths", nargs="*", metavar="PATH", help="image files, folders (searched recursively), or video "
                                                             "files (any other file: whatever OpenCV's VideoCapture reads)")
    s.add_argument("--camera", type=int, metavar="INDEX", help="read camera INDEX (0: the first) until Ctrl-C")
    s.add_argument("--every", type=int, default=1, metavar="K", help="videos, camera: analyse every K-th frame "
                                                                     "(the frames between keep the last boxes)")
    s.add_argument("--frames", type=int, metavar="N", help="videos, camera: stop after N frames")
    s.add_argument("--no-window", action="store_true", help="camera: no live window even where a display exists")
    s.add_argument("--checkpoint", required=True, help="ours (.safetensors + .json) or released (.pt/.pth)")
    s.add_argument("--json", action="store_true", help="one JSON document on stdout")
    s.add_argument("--out", help="folder for annotated copies (and Grad-CAM overlays); videos and the camera: "
                                 "their outputs (default: emotions/)")
    s.add_argument("--cam", action="store_true", help="write a Grad-CAM overlay per face (needs --out)")
    s.add_argument("--cam-class", metavar="NAME", help="Grad-CAM for this class instead of the top one (implies --cam)")
    s.add_argument("--cam-layer", default="auto",
                   help="auto (ours: the last 8x8 map, 'se' in C1), released (the authors' conv3), or a layer name")
    s.add_argument("--margin", type=float, help="share of the box added on each side (default 0.1; 0: the bare box)")
    s.add_argument("--device", default="auto")
    s.add_argument("--batch-size", type=int, default=64, help="faces per forward pass")
    s.set_defaults(func=cmd_predict)

    s = sub.add_parser("import-official", help="convert a released ResEmoteNet checkpoint to ours")
    s.add_argument("src")
    s.add_argument("--out", required=True, help="destination: NAME or NAME.safetensors (NAME.json is written "
                                                "beside); `evaluate --checkpoint` takes either")
    s.set_defaults(func=cmd_import_official)

    s = sub.add_parser("book", help="run the plan (runs.yml) with Snakemake where results are out of date, "
                                    "then build the book")
    s.add_argument("--plan", default="runs.yml", help="run plan (default: runs.yml)")
    s.add_argument("--runs", default="runs", help="run directories (default: runs/)")
    s.add_argument("--data", default="data", help="datasets folder (default: data/)")
    s.add_argument("--out", default="_build", help="build folder (default: _build/; the HTML lands in _build/html)")
    s.add_argument("--records", default="results", help="recorded results (default: results/)")
    s.add_argument("--profile", default="auto", help="real-data profile of runs.yml: auto (paper with a GPU, "
                                                     "reduced without), paper or reduced")
    s.add_argument("--cores", default="all", help="CPU cores Snakemake may use (default: all)")
    s.add_argument("--dry-run", action="store_true", help="state the plan and the jobs Snakemake would run")
    s.add_argument("--no-run", action="store_true", help="build from the results already there")
    s.add_argument("--no-build", action="store_true", help="execute the runs, do not build")
    s.add_argument("--no-estimate", action="store_true", help="skip timing the real-data runs beforehand")
    s.set_defaults(func=cmd_book)

    s = sub.add_parser("publish", help="record a finished run (RUN_DIR), a dataset summary "
                                       "(runs/_datasets/NAME.json) or every run of a GPU call's runs.tar.gz in "
                                       "results/, for the book to show (exit 1 if a run of an archive is refused)")
    s.add_argument("path")
    s.add_argument("--records", default="results", help="where records go (default: results/)")
    s.add_argument("--in-progress", action="store_true",
                   help="record an unfinished run's progress (its history so far, no test score; the book shows "
                        "its curve as 'epoch N of M'); its finished record replaces it")
    s.add_argument("--device", help="with --in-progress: the hardware it trains on, as a run records it "
                                    "(default: this machine's, for the run's device setting)")
    s.set_defaults(func=cmd_publish)

    s = sub.add_parser("ferplus-agreement", help="join FER+ and FER2013 by pixels and count how often their labels "
                                                 "agree, per split and class")
    s.add_argument("--ferplus", default="data/ferplus", help="FER+ in its project's layout (default: data/ferplus)")
    s.add_argument("--fer2013", default="data/fer2013", help="FER2013, any release (default: data/fer2013)")
    s.add_argument("--json", action="store_true")
    s.add_argument("--record", metavar="RECORDS", help="also write the counts into RECORDS/datasets/ferplus/"
                                                       "label-agreement.json (e.g. results; needs a clean commit)")
    s.set_defaults(func=cmd_ferplus_agreement)

    s = sub.add_parser("ferplus-score", help="a FER2013 model's PrivateTest predictions scored against FER2013's "
                                             "labels and FER+'s majority, on the same faces")
    s.add_argument("--checkpoint", required=True, help="a FER2013 run directory (the score is written into it as "
                                                       "ferplus-labels.json, which `resemote publish` records) or weights")
    s.add_argument("--ferplus", default="data/ferplus")
    s.add_argument("--fer2013", default="data/fer2013")
    s.add_argument("--device", default="auto")
    s.add_argument("--out", help="where to write the score (default: into the run directory)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_ferplus_score)

    s = sub.add_parser("bench", help="time the training and inference paths against a released-code-style pipeline")
    s.add_argument("--device", default="cpu", help="cpu, cuda or mps")
    s.add_argument("--images", type=int, default=256, help="synthetic 48 x 48 faces, written as JPEG files")
    s.add_argument("--epochs", type=int, default=1, help="timed epochs per path (the median is reported)")
    s.add_argument("--model", "--config", dest="config", default="C1", metavar="NAME", help=_model_help())
    s.add_argument("--batch-size", type=int, default=16)
    s.add_argument("--workers", type=int, default=0, help="DataLoader workers of the baseline")
    s.add_argument("--compile", action="store_true", help="torch.compile the fast step (CUDA with Triton only)")
    s.add_argument("--compile-mode", help="torch.compile mode, e.g. reduce-overhead (CUDA graphs)")
    s.add_argument("--inference-batch", type=int, default=256)
    s.add_argument("--repeats", type=int, default=30, help="timed forward passes per inference figure")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--no-baseline", action="store_true", help="time the fast path only")
    s.add_argument("--threads", type=int, help="torch CPU threads (default: torch's own choice)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_bench)

    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except ResEmoteError as e:
        if args.debug:
            raise
        print(f"resemote: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("resemote: interrupted", file=sys.stderr)
        return 130
