"""Tensor count over 1,000 training steps of the real Trainer on the wasm backend (tip 13: it must not grow)."""

from __future__ import annotations

import argparse
import os
import sys

from . import common


def measure(args) -> dict:
    data = {"load_before": os.getloadavg()}
    options = {
        "backend": args.backend,
        "inputSize": args.input_size,
        "batchSize": args.batch_size,
        "totalSteps": args.steps,
        "every": args.every,
    }
    with (
        common.app_and_browser(data, prefix="bench-tensors-") as (url, browser),
        common.fresh_page(browser, f"{url}/train", ready=common.TRAIN_PAGE_READY) as page,
    ):
        data["result"] = page.evaluate(common.page_function("tensors"), options)
    data["options"] = options
    data["load_after"] = os.getloadavg()
    return data


def verdict(samples: list[dict]) -> str:
    counts = [s["numTensors"] for s in samples]
    if len(set(counts)) == 1:
        return f"flat: {counts[0]} tensors at every sample"
    growth = counts[-1] - counts[0]
    if growth > 0 and counts == sorted(counts):
        return f"growing: +{growth} tensors from step {samples[0]['step']} to step {samples[-1]['step']}"
    return f"not flat: between {min(counts)} and {max(counts)} tensors (ends {growth:+d} from the first sample)"


def report(data: dict) -> str:
    r = data["result"]
    o = data["options"]
    if not r["available"]:
        return f"{o['backend']} is unavailable here: {r['reason']}"
    lines = [
        common.machine_line(data["machine"]),
        "",
        f"The real Trainer on {r['backend']}: reference CNN at {o['inputSize']}×{o['inputSize']}, batch "
        f"{o['batchSize']}, 400 training + 80 validation items fed through PixelCache.batch, losses read every "
        f"5 steps, validation after each epoch; tf.memory() sampled every {o['every']} steps (right after a "
        f"loss read, so no step's loss is pending). {r['steps']} steps in {r['seconds']:.1f} s "
        f"({r['steps'] / r['seconds']:.0f} steps/s including validation and the loop's yields).",
        "",
        f"**Verdict: {verdict(r['samples'])}.** Tensors before the model: {r['pageOwn']} (the page's own); "
        f"with the model built and compiled: {r['before']} (+{r['before'] - r['pageOwn']}: its {r['weights']} "
        f"weights and Adam's two β-power scalars); "
        f"during and after training: {r['afterTraining']} (+{r['afterTraining'] - r['before']}: Adam's two "
        f"moments for each of the {r['trainableWeights']} trainable weights); after disposing the model and the "
        f"optimizer: {r['afterDispose']}.",
        "",
    ]
    rows = [
        [s["step"], s["numTensors"], f"{s['numBytes'] / 1024:,.0f}", "–" if s["loss"] is None else f"{s['loss']:.3f}"]
        for s in r["samples"]
    ]
    lines.append(common.markdown_table(["step", "tf.memory().numTensors", "numBytes (KiB)", "loss"], rows))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="wasm")
    parser.add_argument("--input-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--every", type=int, default=50)
    args = parser.parse_args(argv)
    data = measure(args)
    path = common.write_result("tensors", "Tensor count over 1,000 training steps", report(data), data)
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
