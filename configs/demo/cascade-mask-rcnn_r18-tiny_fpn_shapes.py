# CPU demo baseline for the cascade hosts: 4x conv Cascade Mask R-CNN (three
# stages, mmdet's cascade-mask-rcnn_r50_fpn settings at the demo's width) on
# the demo Mask R-CNN's backbone, data and schedule.
_base_ = './mask-rcnn_r18-tiny_fpn_shapes.py'

num_classes = 4
width = 64


def _box_head(stds):
    """mmdet's cascade box head with the stage's delta ``stds``, at the
    demo's width and classes."""
    coder = dict(
        type='DeltaXYWHBBoxCoder', target_means=[0.] * 4, target_stds=stds)
    return dict(
        type='Shared2FCBBoxHead',
        num_classes=num_classes,
        reg_class_agnostic=True,
        bbox_coder=coder,
        in_channels=width,
        fc_out_channels=256,
        roi_feat_size=7,
        loss_cls=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))


def _stage(iou):
    """mmdet's cascade stage at IoU ``iou``; the demo's 128 samples."""
    thresholds = dict(pos_iou_thr=iou, neg_iou_thr=iou, min_pos_iou=iou)
    return dict(
        assigner=dict(
            type='MaxIoUAssigner',
            match_low_quality=False,
            ignore_iof_thr=-1,
            **thresholds),
        sampler={{_base_.model.train_cfg.rcnn.sampler}},
        mask_size=28,
        pos_weight=-1,
        debug=False)


model = dict(
    type='CascadeRCNN',
    roi_head=dict(
        _delete_=True,
        type='CascadeRoIHead',
        num_stages=3,
        stage_loss_weights=[1, 0.5, 0.25],
        bbox_roi_extractor={{_base_.model.roi_head.bbox_roi_extractor}},
        bbox_head=[
            _box_head([0.1, 0.1, 0.2, 0.2]),
            _box_head([0.05, 0.05, 0.1, 0.1]),
            _box_head([0.033, 0.033, 0.067, 0.067])
        ],
        # the demo Mask R-CNN's 4x conv mask branch, one per stage
        mask_roi_extractor={{_base_.model.roi_head.mask_roi_extractor}},
        mask_head={{_base_.model.roi_head.mask_head}}),
    train_cfg=dict(
        rcnn=[_stage(0.5), _stage(0.6), _stage(0.7)]))
