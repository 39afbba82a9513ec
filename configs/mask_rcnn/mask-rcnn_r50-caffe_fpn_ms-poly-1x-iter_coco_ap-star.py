# Test-only: the 4x conv baseline's COCO AP, Boundary AP and AP* (see
# ../point_rend/point-rend_r50-caffe_fpn_ms-1x_coco_ap-star.py).
_base_ = './mask-rcnn_r50-caffe_fpn_ms-poly-1x-iter_coco.py'

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
