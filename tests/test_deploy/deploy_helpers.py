"""Constants and images shared by the deployment tests."""
import os.path as osp

import cv2
import numpy as np
from helpers import REPO

INST_CFG = osp.join(REPO, 'configs/demo/point-rend_r18-tiny_fpn_shapes.py')
BASE_CFG = osp.join(REPO, 'configs/demo/mask-rcnn_r18-tiny_fpn_shapes.py')
SEM_CFG = osp.join(REPO, 'configs/demo/point-rend_fpn_r18-tiny_scenes-seg.py')


def make_image(tmp_path, shape):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, shape, dtype=np.uint8)
    cv2.rectangle(img, (10, 10), (shape[1] - 20, shape[0] - 30), (200, 50, 50),
                  -1)
    path = str(tmp_path / f'img_{shape[0]}x{shape[1]}.png')
    cv2.imwrite(path, img)
    return path
