"""Scratch against a pretrained start on small real sets: validation accuracy of `browsertrain train`, 5 seeds each.

The sets ship inside their Python packages (no download): 3 classes x 30 of scikit-learn's handwritten digits (8x8,
upscaled to 32x32 PNGs) and scikit-image's LFW subset (100 faces + 100 non-faces, 25x25). Both are bench-only
requirements (bench/requirements.txt). Every run is the CLI's headless Chromium run on one server, as a user runs it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import ROOT, machine, machine_line, markdown_table, running_server, write_result

SEEDS = (1, 2, 3, 4, 5)
DIGIT_CLASSES = (0, 1, 2)
DIGITS_PER_CLASS = 30
DIGIT_SIDE = 32
EPOCHS = 30
# (label, extra CLI options); scratch trains the reference CNN at the images' own side.
CONFIGS = {
    "digits": [
        ("scratch (reference CNN, 32 px)", ["--input-size", "32"]),
        ("mobilenet_v2, frozen", ["--backbone", "mobilenet_v2"]),
        ("mobilenet_v2, last 2 blocks fine-tuned", ["--backbone", "mobilenet_v2", "--fine-tune-blocks", "2"]),
        ("face_features, frozen", ["--backbone", "face_features"]),
    ],
    "faces": [
        ("scratch (reference CNN, 32 px)", ["--input-size", "32"]),
        ("mobilenet_v2, frozen", ["--backbone", "mobilenet_v2"]),
        ("face_features, frozen", ["--backbone", "face_features"]),
        ("face_features, last block fine-tuned", ["--backbone", "face_features", "--fine-tune-blocks", "1"]),
    ],
}


def write_digits(folder: Path) -> None:
    """The first DIGITS_PER_CLASS of each of DIGIT_CLASSES, 8x8 (16 grey levels) upscaled to 32x32 PNGs."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    for label in DIGIT_CLASSES:
        (folder / str(label)).mkdir(parents=True)
        rows = [i for i, target in enumerate(digits.target) if target == label][:DIGITS_PER_CLASS]
        for n, i in enumerate(rows):
            pixels = (digits.images[i] * (255 / 16)).round().astype("uint8")
            Image.fromarray(pixels, "L").resize((DIGIT_SIDE, DIGIT_SIDE), Image.BILINEAR).save(
                folder / str(label) / f"{n:03d}.png"
            )


def write_faces(folder: Path) -> None:
    """scikit-image's lfw_subset: 100 faces then 100 non-faces, 25x25 floats in [0, 1], as PNGs."""
    from PIL import Image
    from skimage.data import lfw_subset

    images = lfw_subset()
    for i, image in enumerate(images):
        label = "face" if i < len(images) // 2 else "not_face"
        (folder / label).mkdir(parents=True, exist_ok=True)
        Image.fromarray((image * 255).round().astype("uint8"), "L").save(folder / label / f"{i:03d}.png")


def cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args], cwd=ROOT, text=True, capture_output=True, **kwargs
    )


def train(server: str, dataset: str, seed: int, options: list[str], backend: str) -> dict:
    started = time.monotonic()
    done = cli(
        "train",
        "--server",
        server,
        "--dataset",
        dataset,
        "--seed",
        str(seed),
        "--epochs",
        str(EPOCHS),
        "--backend",
        backend,
        "--json",
        *options,
    )
    if done.returncode != 0:
        raise RuntimeError(f"train {dataset} {options} seed {seed} failed: {done.stderr[-2000:]}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "seed": seed,
        "val_accuracy": summary["val_accuracy"],
        "final_loss": summary["final_loss"],
        "seconds": round(time.monotonic() - started, 1),
        "run_id": summary["run_id"],
    }


def describe(values: list[float]) -> tuple[str, str, str]:
    return (
        f"{statistics.mean(values):.3f}",
        f"{statistics.pstdev(values):.3f}",
        f"{min(values):.2f}–{max(values):.2f}",
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="wasm", help="the backend every run trains on (default wasm)")
    parser.add_argument("--sets", default="digits,faces", help="which sets (digits, faces)")
    args = parser.parse_args(argv)
    data = {"epochs": EPOCHS, "seeds": list(SEEDS), "backend": args.backend, "sets": {}}
    with tempfile.TemporaryDirectory(prefix="bench-pretrained-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        for name, write in (("digits", write_digits), ("faces", write_faces)):
            write(Path(tmp) / name)
            cli("datasets", "import", str(Path(tmp) / name), "--name", name, "--data-dir", str(data_dir), check=True)
        with running_server(data_dir) as server:
            for dataset in args.sets.split(","):
                data["sets"][dataset] = {}
                for label, options in CONFIGS[dataset]:
                    runs = [train(server, dataset, seed, options, args.backend) for seed in SEEDS]
                    data["sets"][dataset][label] = {"options": options, "runs": runs}
                    accuracies = [r["val_accuracy"] for r in runs]
                    print(f"{dataset} {label}: {accuracies}", file=sys.stderr)
    data["machine"] = machine()
    rows = []
    for dataset, configs in data["sets"].items():
        for label, result in configs.items():
            accuracies = [r["val_accuracy"] for r in result["runs"]]
            seconds = statistics.median(r["seconds"] for r in result["runs"])
            rows.append(
                [dataset, label, *describe(accuracies), " ".join(f"{a:.2f}" for a in accuracies), f"{seconds:.0f}"]
            )
    body = (
        f"{machine_line(data['machine'])}\n\n"
        f"`browsertrain train --dataset SET --seed S --epochs {EPOCHS} --backend {args.backend}` plus the options "
        f"below, seeds {', '.join(map(str, SEEDS))}; every other setting is the default (no augmentation, lr 0.001, "
        "batch 32, 20% validation split drawn from the seed, so each seed's configs share one split). "
        "digits: 3 classes x 30 of scikit-learn's `load_digits` at 32x32; faces: scikit-image's `lfw_subset`, "
        "100 faces + 100 non-faces at 25x25.\n\n"
        + markdown_table(["set", "start", "val accuracy mean", "std", "range", "per seed", "s per run (median)"], rows)
    )
    print(write_result("pretrained", "Scratch against a pretrained start on small sets", body, data), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
