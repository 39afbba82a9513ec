# 4x conv Mask R-CNN R101-FPN (caffe-style, detectron2's MSRA weights), 1x.
_base_ = './mask-rcnn_r50-caffe_fpn_ms-poly-1x-iter_coco.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='open-mmlab://detectron2/resnet101_caffe')))
