#!/usr/bin/env bash
# The throughput benchmark on a machine with an NVIDIA GPU, headless (no display needed): webgl and webgpu in
# Chromium with hardware GPU flags, wasm beside them, PyTorch on the CPU and on CUDA when torch has CUDA. Writes
# bench/results/gpu.{md,json,png}, apart from the CPU tables (throughput.*).
#
# Installs nothing: run `make bench-gpu` (which sets up what `make bench` sets up, then runs this) or, once set up,
# `bench/gpu.sh [bench.throughput options]`, e.g. `bench/gpu.sh --windows 3 --batch-sizes 8,32`.
# BENCH_GPU_FLAGS=vulkan|egl picks Chromium's flag set; by default every set is probed and the one that puts the most
# backends on the GPU is used (bench/gpu.py says what each set does and where its flags come from).
#
# Exits 0 when the benchmark ran, GPU or not: every backend that did not reach the GPU is named in the output as
# "GPU path NOT taken" with the renderer or adapter it got. Exits non-zero only when the benchmark itself failed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}

if ! "$PY" -c 'import torch, playwright' 2>/dev/null; then
  echo "bench/gpu.sh: PyTorch or Playwright is missing from $PY; run \`make bench-gpu\` (or \`make bench\`) once." >&2
  exit 2
fi

# No display: Chromium's headless mode needs none, and without these it cannot quietly use one a desktop has.
unset DISPLAY WAYLAND_DISPLAY

if command -v nvidia-smi >/dev/null 2>&1; then
  echo "nvidia-smi: present"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/  /' || true
else
  echo "nvidia-smi: not found (no NVIDIA driver here): expect every 'GPU path NOT taken' below"
fi

flag_set=${BENCH_GPU_FLAGS:-}
if [ -z "$flag_set" ]; then
  echo "probing Chromium's GPU flag sets..."
  flag_set=$("$PY" -m bench.gpu choose)
fi
echo "flag set: $flag_set"

"$PY" -m bench.throughput --gpu "$flag_set" "$@"
echo
echo "== bench/results/gpu.md written; what ran on the GPU:"
"$PY" -m bench.gpu summary
