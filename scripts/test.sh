#!/usr/bin/env bash
# The test command: installs what only the tests need into the .venv that scripts/setup.sh made
# (the `test` extra, and the llama.cpp OpenAI-compatible server for the `server` tests, built from
# source once), then runs pytest with any arguments given (e.g. `bash scripts/test.sh -x tests/data`).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { echo "test: no .venv; run 'bash scripts/setup.sh' first" >&2; exit 2; }
# shellcheck disable=SC1091
. .venv/bin/activate
pip() { python -m pip --disable-pip-version-check -q "$@"; }
# Always asked (a few seconds when nothing is missing), so a new test dependency is never forgotten.
pip install -e ".[test]"
install_llama_server() {
  # llama.cpp's AMX kernels crash (segfault on any multi-token prompt) on the AMX Xeon these
  # sessions ran on (llama-cpp-python 0.3.36): on AMX machines build it without them, for the
  # AVX-512 these CPUs all have, and keep that wheel apart from pip's cache (whose key ignores
  # CMAKE_ARGS, so it would hand back a native build). Elsewhere pip builds it (~4 min on 2
  # cores) and caches the wheel.
  if grep -qw amx_int8 /proc/cpuinfo 2>/dev/null; then
    # Beside pip's own cache (not under $RDISTILL_CACHE, which CI points into the clone).
    local wheels="$HOME/.cache/rdistill/wheels/llama-cpp-no-amx"
    if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
      CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
-DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON" \
        pip wheel --no-deps --no-cache-dir --no-binary llama-cpp-python -w "$wheels" "llama-cpp-python>=0.3"
    fi
    pip install --no-deps "$(ls "$wheels"/llama_cpp_python-*.whl | tail -n 1)"
  fi
  pip install -e ".[server]"
}
python -c "import llama_cpp.server" 2>/dev/null || install_llama_server \
  || echo "test: llama-cpp-python did not build; the 'server' tests will skip" >&2
export RDISTILL_DATA_DIR="${RDISTILL_DATA_DIR:-$(cd .. && pwd)/shared/data}"
exec python -m pytest -q "$@"
