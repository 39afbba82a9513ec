# Test evaluators of the *_ap-star*.py configs: COCO AP, Boundary AP and AP*
# (the paper's Tables 1 and 5: COCO mask AP scored against LVIS's finer masks
# of the 80 COCO categories on the COCO val2017 images, with the lvis API).
# The paper and detectron2's datasets/prepare_cocofied_lvis.py use LVIS v0.5
# val; LVIS v1 val is the newer release. Either way AP* keeps the LVIS images
# that are COCO val2017 images. The ground truth is built on the first run
# and kept under work_dirs/ap_star/ (or give ann_file= a file from
# tools/dataset_converters/cocofy_lvis.py).
_coco_val = 'data/coco/annotations/instances_val2017.json'
_coco_metrics = [
    dict(
        type='CocoMetric',
        ann_file=_coco_val,
        metric=['bbox', 'segm'],
        format_only=False,
        backend_args=None),
    dict(type='CocoBoundaryMetric', ann_file=_coco_val, backend_args=None)
]
ap_star_lvis_v05_evaluator = _coco_metrics + [
    dict(
        type='LVISAPStarMetric',
        lvis_ann_file='data/lvis_v0.5/annotations/lvis_v0.5_val.json',
        coco_ann_file=_coco_val,
        outfile_prefix='work_dirs/ap_star/lvis_v0.5_coco_val2017')
]
ap_star_lvis_v1_evaluator = _coco_metrics + [
    dict(
        type='LVISAPStarMetric',
        lvis_ann_file='data/lvis_v1/annotations/lvis_v1_val.json',
        coco_ann_file=_coco_val,
        outfile_prefix='work_dirs/ap_star/coco_val2017')
]
