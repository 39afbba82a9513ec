# Test-only: the 4x conv baseline's COCO AP, Boundary AP and AP* against LVIS
# v1 val (see ../_base_/ap-star_evaluators.py).
_base_ = [
    './mask-rcnn_r50-caffe_fpn_ms-poly-1x-iter_coco.py',
    '../_base_/ap-star_evaluators.py'
]

test_evaluator = {{_base_.ap_star_lvis_v1_evaluator}}
