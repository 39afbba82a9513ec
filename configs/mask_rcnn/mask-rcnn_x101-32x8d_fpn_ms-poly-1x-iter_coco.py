# 4x conv Mask R-CNN X101-32x8d-FPN (detectron2's Caffe2-trained ResNeXt:
# BGR input, its own mean / std), frozen BN, the PointRend paper's 1x schedule.
_base_ = './mask-rcnn_r50-caffe_fpn_ms-poly-1x-iter_coco.py'

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
