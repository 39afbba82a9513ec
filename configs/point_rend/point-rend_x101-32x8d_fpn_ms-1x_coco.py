# PointRend X101-32x8d-FPN (detectron2's Caffe2-trained ResNeXt), COCO, 1x.
# Baseline: ../mask_rcnn/mask-rcnn_x101-32x8d_fpn_ms-poly-1x-iter_coco.py
_base_ = './point-rend_r50-caffe_fpn_ms-1x_coco.py'

model = dict(
    data_preprocessor=dict(
        mean=[103.530, 116.280, 123.675],
        std=[57.375, 57.120, 58.395],
        bgr_to_rgb=False),
    backbone=dict(
        type='ResNeXt',
        depth=101,
        groups=32,
        base_width=8,
        style='pytorch',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='open-mmlab://detectron2/resnext101_32x8d')))
