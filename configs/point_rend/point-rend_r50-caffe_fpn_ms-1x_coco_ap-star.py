# Test-only: COCO AP, Boundary AP and AP* (the paper's Table 2: COCO mask AP
# scored against LVIS v1 val's finer masks of the 80 COCO categories on the
# COCO val2017 images, with the lvis API). Needs
# data/lvis_v1/annotations/lvis_v1_val.json beside COCO; the ground truth is
# built on the first run and kept under work_dirs/ap_star/ (or give
# ann_file= a file from tools/dataset_converters/cocofy_lvis.py).
#   python tools/test.py configs/point_rend/point-rend_r50-caffe_fpn_ms-1x_coco_ap-star.py CKPT
_base_ = './point-rend_r50-caffe_fpn_ms-1x_coco.py'

test_evaluator = [
    dict(type='CocoMetric',
         ann_file='data/coco/annotations/instances_val2017.json',
         metric=['bbox', 'segm'], format_only=False, backend_args=None),
    dict(type='CocoBoundaryMetric',
         ann_file='data/coco/annotations/instances_val2017.json',
         backend_args=None),
    dict(type='LVISAPStarMetric',
         lvis_ann_file='data/lvis_v1/annotations/lvis_v1_val.json',
         coco_ann_file='data/coco/annotations/instances_val2017.json',
         outfile_prefix='work_dirs/ap_star/coco_val2017')
]
