# Test-only: COCO AP, Boundary AP and AP* against LVIS v1 val (see
# ../_base_/ap-star_evaluators.py; the paper's LVIS v0.5: *_ap-star-lvis-v0.5)
#   python tools/test.py configs/point_rend/point-rend_r50-caffe_fpn_ms-1x_coco_ap-star.py CKPT
_base_ = [
    './point-rend_r50-caffe_fpn_ms-1x_coco.py',
    '../_base_/ap-star_evaluators.py'
]

test_evaluator = {{_base_.ap_star_lvis_v1_evaluator}}
