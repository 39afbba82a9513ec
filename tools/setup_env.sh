#!/usr/bin/env bash
# Set up (or check) the Python environment for mmpointrend, then exit.
#
#   bash tools/setup_env.sh
#
# Installs into the active Python (a venv or conda env if one is active):
#   torch       kept if already installed, else the CPU build 2.13.0
#   mmcv 2.1.0  with compiled ops; PyPI has only its source, so pip builds it
#               (~10 min on 2 cores) unless PIP_FIND_LINKS points at a wheel
#   mmengine, mmdet 3.3.0, mmsegmentation 1.2.2, pycocotools, lvis,
#   cityscapesscripts, onnx + onnxruntime (export check), numpy<2,
#   pytest + pytest-xdist, the lint tools (flake8, isort, yapf, pre-commit)
#   and mmpointrend itself (editable)
# A second run finds everything in place and does nothing.
# GPU users: install your CUDA torch and `mim install "mmcv>=2.0.0rc4,<2.2.0"`
# first; this script then keeps both.
set -euo pipefail
PYTHON=${PYTHON:-python3}
HERE="$(cd "$(dirname "$0")/.." && pwd)"
cd "$HERE"

ready() {
  # from / so that the installed mmpointrend is checked, not ./mmpointrend
  (cd / && "$PYTHON" - "$HERE") <<'PY' 2>/dev/null
import os, sys, warnings
warnings.filterwarnings('ignore')
import numpy, setuptools, torch, mmcv, mmengine, mmdet, mmseg, pycocotools
import lvis, cityscapesscripts, ftfy, regex, pytest, xdist, onnx, onnxruntime
import flake8, isort, yapf, pre_commit
from mmcv.ops import roi_align  # compiled ops present
from packaging.version import Version as V
assert V(numpy.__version__) < V('2')
assert V('77.0.3') <= V(setuptools.__version__) < V('81')
assert V('2.0.0rc4') <= V(mmcv.__version__) < V('2.2.0')
assert mmdet.__version__ == '3.3.0' and mmseg.__version__ == '1.2.2'
import mmpointrend
here = os.path.realpath(sys.argv[1])
assert os.path.realpath(mmpointrend.__file__).startswith(here + os.sep)
PY
}

if ready; then
  echo "setup_env: environment ready ($("$PYTHON" -c 'import torch; print("torch", torch.__version__)' 2>/dev/null))"
  exit 0
fi

PIP=("$PYTHON" -m pip install --disable-pip-version-check)
if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
  echo "setup_env: installing torch==2.13.0 (CPU build)"
  "${PIP[@]}" torch==2.13.0
fi
"${PIP[@]}" -r requirements/build.txt 'numpy<2'

if ! "$PYTHON" - <<'PY' 2>/dev/null
import mmcv
from mmcv.ops import roi_align
from packaging.version import Version as V
assert V('2.0.0rc4') <= V(mmcv.__version__) < V('2.2.0')
PY
then
  echo "setup_env: installing mmcv 2.1.0 with ops" \
       "(builds from source unless PIP_FIND_LINKS has a wheel: ~10 min)"
  MMCV_WITH_OPS=1 "${PIP[@]}" --no-build-isolation mmcv==2.1.0
fi

"${PIP[@]}" -r requirements/mminstall.txt -r requirements/runtime.txt \
  -r requirements/optional.txt -r requirements/tests.txt \
  -r requirements/build.txt
"${PIP[@]}" --no-build-isolation --no-deps -e .

if ! ready; then
  echo "setup_env: the environment is still incomplete; see the errors above" >&2
  exit 1
fi
echo "setup_env: environment ready"
