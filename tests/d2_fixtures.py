"""detectron2's fixtures (``../shared/fixtures/detectron2``): the zoo-format
pickles rebuilt by the fixtures' own ``make_zoo_pkl.py`` and converted by our
converter tool, for the tests that start from the authors' weights."""
import os
import os.path as osp
import subprocess
import sys

import pytest
from helpers import REPO

FIXTURES = osp.join(osp.dirname(REPO), 'shared', 'fixtures', 'detectron2')
R50 = 'pointrend_rcnn_R_50_FPN_1x_coco'
SEMANTIC = 'pointrend_semantic_R_101_FPN_1x_cityscapes'


def require_fixtures() -> None:
    """Skip the calling module without the fixtures (an error in CI)."""
    if not osp.isdir(FIXTURES):
        if os.environ.get('CI'):
            raise RuntimeError(
                f'CI needs the detectron2 fixtures at {FIXTURES}')
        pytest.skip(
            f'no detectron2 fixtures at {FIXTURES}', allow_module_level=True)


def zoo_pkl(model_name: str, tmp_dir) -> str:
    """manifest -> zoo .pkl, by the fixtures' make_zoo_pkl.py."""
    pkl = osp.join(tmp_dir, model_name + '.pkl')
    subprocess.run([
        sys.executable,
        osp.join(FIXTURES, 'make_zoo_pkl.py'),
        osp.join(FIXTURES, model_name + '.manifest.json'), pkl
    ],
                   check=True,
                   capture_output=True)
    return pkl


def convert(model_name: str, config: str, tmp_dir) -> str:
    """manifest -> zoo .pkl (make_zoo_pkl.py) -> ours (converter tool)."""
    import detectron2_to_mmpointrend as tool
    pkl = zoo_pkl(model_name, tmp_dir)
    out = osp.join(tmp_dir, model_name + '.pth')
    tool.main([pkl, out, '--config', osp.join(REPO, config)])
    os.remove(pkl)
    return out
