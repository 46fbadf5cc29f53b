"""The throughput benchmark on a real GPU: Chromium's hardware flag sets, and whether the GPU path was really taken.

Headless Chromium renders WebGL and WebGPU in software (SwiftShader) unless told otherwise, and a wrong flag does not
fail: it silently falls back to SwiftShader, or switches WebGL off. So a run with GPU flags records what it actually
got (the WebGL renderer string, the WebGPU adapter) and every row says whether that was a hardware GPU.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys

from server.headless import BROWSER_FLAGS

from . import common

# The app's headless trainer's browser flags (server/headless.py) without its SwiftShader ones, and GPU ones. Playwright
# adds `--headless` (Chromium's new headless mode, which has no display of its own and needs none).
COMMON_FLAGS = BROWSER_FLAGS + (
    "--enable-webgl",
    # Chromium blocklists some drivers and then renders in software; the benchmark wants the GPU whatever the list says.
    "--ignore-gpu-blocklist",
    # WebGPU is off by default on Linux; this turns it on (on Vulkan, with the `Vulkan` feature below).
    "--enable-unsafe-webgpu",
)

# Chromium takes the LAST `--enable-features` on its command line (Playwright passes one of its own first), so each
# set names every feature it needs in one switch.
GPU_FLAG_SETS = {
    # WebGL through ANGLE on Vulkan, WebGPU (Dawn) on Vulkan: the set Chrome's team documents for headless Chromium on
    # Linux with an NVIDIA card (developer.chrome.com/blog/supercharge-web-ai-testing, tested on a T4; its example is
    # github.com/jasonmayes/headless-chrome-nvidia-t4-gpu-support). `--disable-vulkan-surface` makes Vulkan present by
    # blit instead of a swapchain, which a headless browser has no surface for; without it chrome://gpu reports GPU
    # errors (that repository's issue #1). `VulkanFromANGLE,DefaultANGLEVulkan` are what recent Chrome on Linux needs
    # besides `Vulkan` before WebGPU gets an adapter (gpuweb/gpuweb#5022).
    "vulkan": (
        "--use-angle=vulkan",
        "--enable-features=Vulkan,VulkanFromANGLE,DefaultANGLEVulkan",
        "--disable-vulkan-surface",
    ),
    # WebGL through ANGLE on the driver's native EGL (OpenGL ES), for machines where ANGLE's Vulkan fails; WebGPU still
    # on Vulkan. `--use-gl=egl` no longer exists and silently switches WebGL off; `--use-angle=gl-egl` is the form that
    # reached an NVIDIA card headless (CloakHQ/CloakBrowser#476: "NVIDIA RTX 3080 Ti (OpenGL ES)", 91% GPU use). It
    # needs the GLVND loader (libEGL.so.1) on the machine.
    "egl": (
        "--use-gl=angle",
        "--use-angle=gl-egl",
        "--enable-features=Vulkan",
        "--disable-vulkan-surface",
    ),
}
DEFAULT_GPU_FLAG_SET = "vulkan"

# Renderer and adapter names of software rasterizers: Chromium's own (SwiftShader), Mesa's (llvmpipe, softpipe,
# lavapipe), Windows' fallback. Matched case-insensitively anywhere in the string.
SOFTWARE_MARKERS = ("swiftshader", "llvmpipe", "softpipe", "lavapipe", "software", "microsoft basic render")
NVIDIA_SMI_SECONDS = 10


def chromium_flags(flag_set: str) -> tuple[str, ...]:
    """The command line for one GPU flag set; an unknown name is refused with the names there are."""
    if flag_set not in GPU_FLAG_SETS:
        raise ValueError(f"unknown GPU flag set {flag_set!r}; choose from {', '.join(GPU_FLAG_SETS)}")
    return COMMON_FLAGS + GPU_FLAG_SETS[flag_set]


def software_marker(text: str | None) -> str | None:
    """The software rasterizer named in a renderer or adapter string, or None when it names none."""
    lowered = (text or "").lower()
    return next((marker for marker in SOFTWARE_MARKERS if marker in lowered), None)


def webgl_verdict(renderer: str | None) -> dict:
    """Did WebGL run on a GPU? From UNMASKED_RENDERER_WEBGL (None: no WebGL context at all)."""
    if not renderer:
        return {"gpu": False, "why": "no WebGL context (WebGL is off with these flags)"}
    marker = software_marker(renderer)
    if marker:
        return {"gpu": False, "why": f"renderer {renderer!r} is software ({marker})"}
    return {"gpu": True, "why": f"renderer {renderer!r}"}


def webgpu_verdict(adapter: dict | None) -> dict:
    """Did WebGPU run on a GPU? From the adapter's info (vendor, architecture, device, description, isFallbackAdapter);
    None: navigator.gpu gave no adapter."""
    if not adapter:
        return {"gpu": False, "why": "no WebGPU adapter"}
    described = adapter_text(adapter)
    if adapter.get("isFallbackAdapter"):
        return {"gpu": False, "why": f"adapter {described!r} is a fallback (software) adapter"}
    marker = software_marker(described)
    if marker:
        return {"gpu": False, "why": f"adapter {described!r} is software ({marker})"}
    if not described:
        return {"gpu": False, "why": "the adapter does not say what it is"}
    return {"gpu": True, "why": f"adapter {described!r}"}


def adapter_text(adapter: dict) -> str:
    parts = (adapter.get(key) for key in ("vendor", "architecture", "device", "description"))
    return " ".join(part for part in parts if part).strip()


def browser_verdict(backend: str, info: dict) -> dict:
    """The verdict for one browser configuration of the throughput benchmark (info: what its page's setup returned)."""
    if backend == "webgl":
        verdict = webgl_verdict(info.get("renderer"))
    elif backend == "webgpu":
        verdict = webgpu_verdict(info.get("adapterInfo"))
    else:
        return {"gpu": False, "why": f"{backend} runs on the CPU"}
    if not info.get("available"):
        return {"gpu": False, "why": f"the backend did not start ({info.get('reason')}); {verdict['why']}"}
    return verdict


def describe_run(flag_set: str) -> dict:
    """What a GPU run records before it starts: its flag set, Chromium's command line, and nvidia-smi's answer."""
    return {"flag_set": flag_set, "flags": list(chromium_flags(flag_set)), "nvidia_smi": nvidia_smi()}


def nvidia_smi() -> dict:
    """What `nvidia-smi` says about the machine's NVIDIA GPUs: {"present": bool, "gpus": [...] or "error": ...}."""
    command = shutil.which("nvidia-smi")
    if not command:
        return {"present": False, "error": "not found on PATH (no NVIDIA driver)"}
    try:
        result = subprocess.run(
            [command, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=NVIDIA_SMI_SECONDS,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"present": True, "error": str(exc)}
    if result.returncode != 0:
        return {"present": True, "error": (result.stderr or result.stdout).strip()}
    return {"present": True, "gpus": [line.strip() for line in result.stdout.splitlines() if line.strip()]}


def report_section(data: dict) -> str:
    """The GPU part of the results table: the flags, nvidia-smi, and per browser GPU configuration whether its
    numbers are GPU numbers. Every "GPU path NOT taken" line is also printed by bench/gpu.sh."""
    gpu = data["gpu"]
    smi = gpu["nvidia_smi"]
    smi_line = f"{'; '.join(smi['gpus'])}" if smi.get("gpus") else smi.get("error", "nothing")
    lines = [
        f"Chromium flag set `{gpu['flag_set']}`: `{' '.join(gpu['flags'])}` (headless).",
        "",
        f"nvidia-smi: {smi_line}.",
        "",
    ]
    lines += [f"- {line}" for line in verdict_lines(data)]
    return "\n".join(lines)


def verdict_lines(data: dict) -> list[str]:
    """One line per browser GPU backend and one for PyTorch on CUDA, each saying plainly whether the GPU was used."""
    lines = []
    for label, verdict in data["gpu"].get("verdicts", {}).items():
        if verdict["gpu"]:
            lines.append(f"{label}: GPU path taken: {verdict['why']}.")
        else:
            lines.append(f"{label}: GPU path NOT taken: {verdict['why']}; its numbers are not GPU numbers.")
    lines.append(data["gpu"].get("torch_cuda", "PyTorch CUDA: not run."))
    return lines


def mark_rows(data: dict) -> None:
    """Records, once every configuration is set up, which result rows are GPU numbers (data["gpu"]["on_gpu"]: label ->
    bool) and the PyTorch CUDA line of the report."""
    verdicts = data["gpu"].get("verdicts", {})
    on_gpu = {label: verdicts.get(label, {}).get("gpu", False) for label in data["browser"]}
    on_gpu.update({label: info.get("device", "cpu") != "cpu" for label, info in data["torch"].items()})
    data["gpu"]["on_gpu"] = on_gpu
    data["gpu"]["torch_cuda"] = torch_cuda_line(data)


def torch_cuda_line(data: dict) -> str:
    """Whether PyTorch trained on CUDA in this run, and on what."""
    label = "PyTorch CUDA"
    if label in data["torch"]:
        return f"{label}: ran on {data['torch'][label]['device']} (torch {data['torch'][label]['torch']})."
    reason = data.get("torch_unavailable", {}).get(label, "not run")
    return f"{label}: NOT run: {reason}. `make bench` installs the CPU-only torch build; see bench/README.md."


def column_label(data: dict, label: str) -> str:
    """A results column's name; under --gpu a browser GPU backend's says whether it ran on the GPU."""
    verdict = data.get("gpu", {}).get("verdicts", {}).get(label)
    if verdict is None:
        return label
    return f"{label} (GPU)" if verdict["gpu"] else f"{label} (NOT GPU)"


def plot_subtitle(data: dict) -> str:
    if not data.get("gpu"):
        return "no GPU (webgl/webgpu: SwiftShader)"
    verdicts = data["gpu"].get("verdicts", {})
    return ", ".join(f"{label}: {'GPU' if v['gpu'] else 'NOT GPU'}" for label, v in verdicts.items())


def probe(flag_set: str) -> dict:
    """Launches Chromium with one flag set on the app's /train page and asks what WebGL and WebGPU run on."""
    data: dict = {}
    flags = chromium_flags(flag_set)
    with (
        common.app_and_browser(data, prefix="bench-gpu-probe-", flags=flags) as (url, browser),
        common.fresh_page(browser, f"{url}/train", ready=common.TRAIN_PAGE_READY) as page,
    ):
        seen = page.evaluate(common.page_function("gpu_probe"))
    return {
        **seen,
        "webgl": webgl_verdict(seen["renderer"]),
        "webgpu": webgpu_verdict(seen["adapterInfo"]),
        "chromium": data["machine"].get("chromium"),
    }


def choose_flag_set() -> str:
    """Probes every flag set (a few seconds each) and picks the one that puts the most backends on the GPU (the
    first such in GPU_FLAG_SETS; the default when none does). Prints what each set got to stderr."""
    scores = {}
    for flag_set in GPU_FLAG_SETS:
        try:
            seen = probe(flag_set)
        except Exception as exc:  # a flag set that crashes Chromium is reported and passed over, not fatal
            print(f"flag set {flag_set}: Chromium failed: {exc}", file=sys.stderr)
            continue
        for backend in ("webgl", "webgpu"):
            verdict = seen[backend]
            taken = "GPU path taken" if verdict["gpu"] else "GPU path NOT taken"
            print(f"flag set {flag_set}: {backend}: {taken}: {verdict['why']}", file=sys.stderr)
        scores[flag_set] = seen["webgl"]["gpu"] + seen["webgpu"]["gpu"]
    best = max(scores, key=lambda name: scores[name], default=DEFAULT_GPU_FLAG_SET)
    return best if scores.get(best) else DEFAULT_GPU_FLAG_SET


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "command",
        choices=("choose", "summary"),
        help="choose: probe every flag set, print the best one's name; summary: the verdicts of results/gpu.json",
    )
    args = parser.parse_args(argv)
    if args.command == "choose":
        print(choose_flag_set())
        return 0
    path = common.RESULTS_DIR / "gpu.json"
    if not path.exists():
        parser.error(f"{path} does not exist: run the GPU benchmark first")
    for line in verdict_lines(json.loads(path.read_text())):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
