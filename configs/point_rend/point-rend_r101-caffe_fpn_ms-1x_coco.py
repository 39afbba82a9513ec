# PointRend R101-FPN (caffe-style, detectron2's MSRA weights), COCO, 1x.
# Baseline: ../mask_rcnn/mask-rcnn_r101-caffe_fpn_ms-poly-1x-iter_coco.py
_base_ = './point-rend_r50-caffe_fpn_ms-1x_coco.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='open-mmlab://detectron2/resnet101_caffe')))
