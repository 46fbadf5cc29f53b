"""Share of a training step spent on input (decode, canvas resize, fromPixels) vs compute, on wasm and webgl.

One batch of 32 JPEGs, at the input size (64x64) and larger (256x256, resized by the canvas), goes through the
app's uncached path (what PixelCache.fill does for each image on the first epoch) and its cached path (PixelCache.batch
on every later epoch); beside it, the compute of one Trainer.trainStep of the reference CNN. Medians of the rounds.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import sys

from . import common
from .dataset import CLASSES, make_image

BACKENDS = ("wasm", "webgl")
SOURCES = (64, 256)
BATCH = 32


def measure(args) -> dict:
    rng = random.Random(7)
    images = {
        f"{size}px": [base64.b64encode(make_image(CLASSES[i % len(CLASSES)], size, rng)).decode() for i in range(BATCH)]
        for size in SOURCES
    }
    data = {
        "rounds": args.rounds,
        "batch": BATCH,
        "load_before": os.getloadavg(),
        "backends": {},
        "image_bytes": {k: sum(len(base64.b64decode(b)) for b in v) / len(v) for k, v in images.items()},
    }
    source = common.page_function("input_cost")
    with common.app_and_browser(data, prefix="bench-input-") as (url, browser):
        for backend in BACKENDS:
            with common.fresh_page(browser, f"{url}/train", ready=common.TRAIN_PAGE_READY) as page:
                info = page.evaluate(source, {"op": "setup", "backend": backend, "images": images, "batchSize": BATCH})
                if not info["available"]:
                    data["backends"][backend] = {"available": False, "reason": info["reason"]}
                    continue
                rounds = []
                for _ in range(args.rounds):
                    common.wait_for_quiet(max_wait=5)
                    rounds.append(page.evaluate(source, {"op": "measure"}))
                data["backends"][backend] = {"available": True, "rounds": rounds}
                print(
                    f"{backend}: compute {common.median([r['compute'] for r in rounds]):.1f} ms/step", file=sys.stderr
                )
    data["load_after"] = os.getloadavg()
    return data


def report(data: dict) -> str:
    lines = [
        common.machine_line(data["machine"]),
        common.load_line(data),
        "",
        f"Milliseconds per batch of {data['batch']} (median of {data['rounds']} rounds). Uncached = decode "
        f"(createImageBitmap) + resize (drawImage on a 64×64 2D canvas) + fromPixels (and reading its pixels "
        f"back, as PixelCache.fill does), per image, summed over the batch; the first epoch pays it. Cached = "
        f"PixelCache.batch (pixels → normalised float32 tensor); every later epoch pays only this. Compute = one "
        f"Trainer.trainStep of the reference CNN. JPEG sizes: "
        + ", ".join(f"{k} {v / 1024:.1f} KB" for k, v in data["image_bytes"].items())
        + ".",
        "",
    ]
    header = [
        "backend",
        "source",
        "decode",
        "resize",
        "fromPixels",
        "uncached input",
        "PixelCache.fill",
        "cached input",
        "compute",
        "input share, uncached",
        "input share, cached",
        "cached input + compute (measured)",
    ]
    rows = []
    for backend, result in data["backends"].items():
        if not result["available"]:
            rows.append([backend, "unavailable: " + str(result["reason"])] + [""] * (len(header) - 2))
            continue
        rounds = result["rounds"]

        def med(f, rounds=rounds):
            return common.median([f(r) for r in rounds])

        compute = med(lambda r: r["compute"])
        cached = med(lambda r: r["cachedBatch"])
        for src in [k for k in rounds[0] if k.endswith("px")]:
            stages = ("decode", "resize", "fromPixels")
            decode, resize, pixels = (med(lambda r, s=stage, src=src: r[src][s]) for stage in stages)
            uncached = med(lambda r, src=src: r[src]["decode"] + r[src]["resize"] + r[src]["fromPixels"])
            rows.append(
                [
                    backend,
                    src,
                    f"{decode:.1f}",
                    f"{resize:.1f}",
                    f"{pixels:.1f}",
                    f"{uncached:.1f}",
                    f"{med(lambda r, src=src: r[src]['fill']):.1f}",
                    f"{cached:.2f}",
                    f"{compute:.1f}",
                    f"{uncached / (uncached + compute):.0%}",
                    f"{cached / (cached + compute):.1%}",
                    f"{med(lambda r: r['cachedStep']):.1f}",
                ]
            )
    lines.append(common.markdown_table(header, rows))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    data = measure(args)
    path = common.write_result("input_cost", "Input vs compute in one training step", report(data), data)
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
