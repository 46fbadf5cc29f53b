"""The reference CNN in PyTorch (CPU, or CUDA), trained the way the browser benchmark trains it; prints JSON results.

Run as its own process (`python -m bench.torch_reference --threads N`) so its OpenMP pool never spins beside
Chromium, and so one run can compare PyTorch's default thread count with one thread. `--device cuda` runs the same
model, batches and optimizer on the GPU (bench/gpu.sh); every timed window ends with a read of the last loss, which
waits for the GPU's queued work, so a window's time is the GPU's time.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time

import torch
from torch import nn

INPUT_SIZE = 64
CLASSES = 10
WIDTH = 16
STAGES = (32, 64, 128)
DEVICES = ("cpu", "cuda")


class SeparableConv(nn.Module):
    """Keras/tfjs SeparableConv2D: a 3x3 depthwise conv without bias, then a 1x1 conv with bias."""

    def __init__(self, channels: int, filters: int, stride: int):
        super().__init__()
        # padding=1 gives the same output size as tfjs 'same' (which pads 0 before, 1 after at stride 2): same work.
        self.depthwise = nn.Conv2d(channels, channels, 3, stride=stride, padding=1, groups=channels, bias=False)
        self.pointwise = nn.Conv2d(channels, filters, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class ReferenceCNN(nn.Module):
    """conv 16 s2 + ReLU, 3 x [separable s2 + ReLU, separable s1 + ReLU] of 32/64/128, global average pool, dense 10."""

    def __init__(self):
        super().__init__()
        layers = [nn.Conv2d(3, WIDTH, 3, stride=2, padding=1), nn.ReLU()]
        channels = WIDTH
        for filters in STAGES:
            layers += [SeparableConv(channels, filters, 2), nn.ReLU(), SeparableConv(filters, filters, 1), nn.ReLU()]
            channels = filters
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels, CLASSES)

    def forward(self, images_nhwc):
        # The browser feeds channels-last [B, 64, 64, 3]; the conversion is part of each timed step.
        x = self.features(images_nhwc.permute(0, 3, 1, 2).contiguous())
        return self.head(x.mean(dim=(2, 3)))  # logits; cross_entropy applies the softmax


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class ReferenceRun:
    """One model, Adam optimizer and fixed batch at one batch size, warmed up, with a timing window sized to it."""

    def __init__(self, batch_size: int, warmup_steps: int, window_seconds: float, seed: int, device: str = "cpu"):
        torch.manual_seed(seed)
        self.batch_size = batch_size
        self.model = ReferenceCNN().to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        # Made on the CPU and moved, so the batch is the same numbers on either device.
        self.images = torch.rand(batch_size, INPUT_SIZE, INPUT_SIZE, 3).to(device)
        self.labels = (torch.arange(batch_size) % CLASSES).to(device)
        self.loss_fn = nn.CrossEntropyLoss()
        started = time.perf_counter()
        self.first_loss = None
        for _ in range(warmup_steps):
            value = self.step().item()
            self.first_loss = value if self.first_loss is None else self.first_loss
        self.warmup_seconds = time.perf_counter() - started
        self.step_seconds = float("inf")
        for _ in range(3):  # the fastest of three sizes the window: one disturbed step cannot make them all short
            started = time.perf_counter()
            self.step().item()
            self.step_seconds = min(self.step_seconds, time.perf_counter() - started)
        self.steps = max(1, min(2000, math.ceil(window_seconds / self.step_seconds)))

    def step(self):
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.model(self.images), self.labels)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def window(self) -> dict:
        started = time.perf_counter()
        losses = [self.step() for _ in range(self.steps)]
        last = float(losses[-1].item())  # one read per window, as the browser loop reads its losses
        seconds = time.perf_counter() - started
        return {
            "steps": self.steps,
            "seconds": seconds,
            "imagesPerSecond": self.steps * self.batch_size / seconds,
            "firstLoss": self.first_loss,
            "lastLoss": last,
        }


def device_problem(device: str) -> str | None:
    """Why `device` cannot run here (None: it can)."""
    if device == "cuda" and not torch.cuda.is_available():
        return f"torch.cuda.is_available() is False (torch {torch.__version__}, CUDA build: {torch.version.cuda})"
    return None


def device_name(device: str) -> str:
    return torch.cuda.get_device_name() if device == "cuda" else "cpu"


def serve(args) -> int:
    """Line protocol for the throughput benchmark: {"op": "setup"} then {"op": "window", "batch_size": B} ...
    A setup on a device this machine lacks answers {"available": false, "reason": ...}."""
    runs: dict[int, ReferenceRun] = {}
    for line in sys.stdin:
        request = json.loads(line)
        problem = device_problem(args.device)
        if request["op"] == "setup" and problem:
            reply = {"available": False, "reason": problem, "torch": torch.__version__}
        elif request["op"] == "setup":
            for b in request["batch_sizes"]:
                runs[b] = ReferenceRun(
                    b, args.warmup_steps, request.get("window_seconds", args.window_seconds), args.seed, args.device
                )
            reply = {
                "available": True,
                "device": device_name(args.device),
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "interop_threads": torch.get_num_interop_threads(),
                "params": parameter_count(ReferenceCNN()),
                "calibration": {
                    b: {"warmupSeconds": r.warmup_seconds, "stepSeconds": r.step_seconds, "stepsPerWindow": r.steps}
                    for b, r in runs.items()
                },
            }
        elif request["op"] == "window":
            reply = runs[request["batch_size"]].window()
        else:
            reply = {"error": f"unknown op {request['op']}"}
        print(json.dumps(reply), flush=True)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: PyTorch's own)")
    parser.add_argument("--batch-sizes", default="1,8,16,32")
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--window-seconds", type=float, default=1.0)
    parser.add_argument("--warmup-steps", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--device", choices=DEVICES, default="cpu", help="where to train (default: cpu)")
    parser.add_argument("--serve", action="store_true", help="answer JSON requests on stdin (used by bench.throughput)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.serve:
        return serve(args)
    problem = device_problem(args.device)
    if problem:
        parser.error(problem)
    results = []
    for b in (int(b) for b in args.batch_sizes.split(",")):
        run = ReferenceRun(b, args.warmup_steps, args.window_seconds, args.seed, args.device)
        rates = [run.window()["imagesPerSecond"] for _ in range(args.windows)]
        results.append({"batch_size": b, "rates": rates, "images_per_second": statistics.median(rates)})
    json.dump(
        {
            "torch": torch.__version__,
            "device": device_name(args.device),
            "threads": torch.get_num_threads(),
            "params": parameter_count(ReferenceCNN()),
            "results": results,
        },
        sys.stdout,
    )
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
