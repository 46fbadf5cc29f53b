"""The GPU benchmark's verdict on whether webgl and webgpu really ran on a GPU (bench/gpu.py), from the renderer and
adapter strings that Chromium reports; no browser. A software rasterizer must never be counted as a GPU."""

import pytest

from bench import gpu

# Renderer strings as Chromium reports them (UNMASKED_RENDERER_WEBGL). The SwiftShader and llvmpipe ones were read on
# a machine without a GPU (bench/gpu.py's flag sets "vulkan" and "egl"); the hardware ones have the same shape.
SOFTWARE_RENDERERS = [
    "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)",
    "ANGLE (Mesa/X.org, llvmpipe (LLVM 15.0.6 256 bits), OpenGL ES 3.2)",
    "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (LLVM 10.0.0) (0x0000C0DE)), SwiftShader driver-5.0.0)",
    "ANGLE (Intel, Mesa lavapipe (LLVM 15), Vulkan 1.3)",
    "Google SwiftShader",
    "ANGLE (Microsoft, Microsoft Basic Render Driver Direct3D11 vs_5_0 ps_5_0, D3D11)",
]
HARDWARE_RENDERERS = [
    "ANGLE (NVIDIA, Vulkan 1.3.277 (NVIDIA H100 80GB HBM3 (0x00002330)), NVIDIA-550.54.15)",
    "ANGLE (NVIDIA Corporation, NVIDIA GeForce RTX 3080 Ti/PCIe/SSE2, OpenGL ES 3.2 NVIDIA 550.54.14)",
    "ANGLE (AMD, AMD Radeon RX 6800 (radeonsi, navi21, LLVM 15.0.6, DRM 3.49), OpenGL ES 3.2)",
]


@pytest.mark.parametrize("renderer", SOFTWARE_RENDERERS)
def test_a_software_renderer_is_not_the_gpu_path_and_the_reason_names_it(renderer):
    verdict = gpu.webgl_verdict(renderer)
    assert verdict["gpu"] is False
    assert renderer in verdict["why"]


@pytest.mark.parametrize("renderer", HARDWARE_RENDERERS)
def test_a_hardware_renderer_is_the_gpu_path(renderer):
    assert gpu.webgl_verdict(renderer) == {"gpu": True, "why": f"renderer {renderer!r}"}


@pytest.mark.parametrize("renderer", [None, ""])
def test_no_webgl_context_is_not_the_gpu_path(renderer):
    assert gpu.webgl_verdict(renderer) == {"gpu": False, "why": "no WebGL context (WebGL is off with these flags)"}


def test_the_swiftshader_webgpu_adapter_is_not_the_gpu_path():
    # What the adapter reported on a machine without a GPU: flagged as a fallback adapter.
    adapter = {"vendor": "google", "architecture": "swiftshader", "device": "", "description": "",
               "isFallbackAdapter": True}  # fmt: skip
    assert gpu.webgpu_verdict(adapter)["gpu"] is False
    # Older Chromium did not set isFallbackAdapter: the name alone must still give SwiftShader away.
    assert gpu.webgpu_verdict({**adapter, "isFallbackAdapter": False})["gpu"] is False


def test_a_hardware_webgpu_adapter_is_the_gpu_path_and_no_adapter_is_not():
    adapter = {"vendor": "nvidia", "architecture": "hopper", "device": "", "description": "NVIDIA H100",
               "isFallbackAdapter": False}  # fmt: skip
    assert gpu.webgpu_verdict(adapter) == {"gpu": True, "why": "adapter 'nvidia hopper NVIDIA H100'"}
    assert gpu.webgpu_verdict(None)["gpu"] is False
    assert gpu.webgpu_verdict({"vendor": "", "architecture": ""})["gpu"] is False


def test_a_backend_that_did_not_start_is_not_the_gpu_path_even_on_a_gpu_renderer():
    info = {"available": False, "reason": "webgl is not available on this device", "renderer": HARDWARE_RENDERERS[0]}
    verdict = gpu.browser_verdict("webgl", info)
    assert verdict["gpu"] is False
    assert "did not start" in verdict["why"]


def test_rows_and_report_say_plainly_which_numbers_are_not_gpu_numbers():
    data = {
        "gpu": {"verdicts": {"webgl": gpu.webgl_verdict(SOFTWARE_RENDERERS[0]), "webgpu": gpu.webgpu_verdict(None)}},
        "browser": {"webgl": {"available": True}, "webgpu": {"available": False}, "wasm": {"available": True}},
        "torch": {"PyTorch": {"device": "cpu"}},
        "torch_unavailable": {"PyTorch CUDA": "torch.cuda.is_available() is False"},
    }
    gpu.mark_rows(data)
    assert data["gpu"]["on_gpu"] == {"webgl": False, "webgpu": False, "wasm": False, "PyTorch": False}
    lines = gpu.verdict_lines(data)
    assert lines[0].startswith("webgl: GPU path NOT taken: renderer 'ANGLE (Google, Vulkan 1.3.0 (SwiftShader")
    assert lines[1] == "webgpu: GPU path NOT taken: no WebGPU adapter; its numbers are not GPU numbers."
    assert lines[2].startswith("PyTorch CUDA: NOT run: torch.cuda.is_available() is False.")
    assert gpu.column_label(data, "webgl") == "webgl (NOT GPU)"
    assert gpu.column_label(data, "wasm") == "wasm"


def test_an_unknown_flag_set_is_refused_with_the_names_there_are():
    with pytest.raises(ValueError, match="choose from vulkan, egl"):
        gpu.chromium_flags("opengl")
    # Chromium keeps only the last --enable-features, so each set must name all its features in one switch.
    for name in gpu.GPU_FLAG_SETS:
        assert sum(flag.startswith("--enable-features=") for flag in gpu.chromium_flags(name)) == 1
