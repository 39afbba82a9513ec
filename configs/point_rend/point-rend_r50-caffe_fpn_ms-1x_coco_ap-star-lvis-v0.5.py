# Test-only: COCO AP, Boundary AP and AP* against LVIS v0.5 val, as the paper
# and detectron2's prepare_cocofied_lvis.py (see ../_base_/ap-star_evaluators.py)
#   python tools/test.py configs/point_rend/point-rend_r50-caffe_fpn_ms-1x_coco_ap-star-lvis-v0.5.py CKPT
_base_ = [
    './point-rend_r50-caffe_fpn_ms-1x_coco.py',
    '../_base_/ap-star_evaluators.py'
]

test_evaluator = {{_base_.ap_star_lvis_v05_evaluator}}
