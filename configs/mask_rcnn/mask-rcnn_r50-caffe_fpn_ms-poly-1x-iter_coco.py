# 4x conv Mask R-CNN R50-FPN (caffe-style, frozen BN) with the PointRend
# paper's 1x schedule (appendix A): 16 images per batch (2 x 8 GPUs), SGD
# momentum 0.9, weight decay 1e-4, 60k / 20k / 10k iterations at 0.02 / 0.002
# / 0.0002, linear warm-up over 1000 iterations (factor 0.001, as detectron2),
# train shorter edge 640-800 step 32, test 800, horizontal flip. The PointRend
# configs inherit it, so baseline and PointRend differ only in the mask head.
# Trained as detectron2 trains (../_base_/d2-training_instance.py: RPN / RoI
# matching, FPN and box-head initialisation, PIL resizing).
_base_ = [
    'mmdet::mask_rcnn/mask-rcnn_r50-caffe_fpn_ms-poly-1x_coco.py',
    '../_base_/d2-training_instance.py',
    '../_base_/schedules/d2-iter-schedules.py'
]

model = {{_base_.d2_training_model}}
train_pipeline = {{_base_.d2_coco_train_pipeline}}
test_pipeline = {{_base_.d2_exact_coco_test_pipeline}}

train_dataloader = dict(
    batch_size=2,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = {{_base_.coco_1x.train_cfg}}
param_scheduler = {{_base_.coco_1x.param_scheduler}}
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001))
# `tools/train.py --auto-scale-lr` rescales lr for other total batch sizes
auto_scale_lr = dict(enable=False, base_batch_size=16)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=10000,
        max_keep_ckpts=3))
log_processor = dict(by_epoch=False)

# Testing reports Boundary AP (mmpointrend's CocoBoundaryMetric: IoU =
# min(mask IoU, boundary IoU), d = 2% of the image diagonal) beside COCO's
# box and mask AP; validation during training keeps COCO AP only. AP*
# (LVIS annotations): see the *_ap-star.py configs.
custom_imports = dict(imports=['mmpointrend'], allow_failed_imports=False)
test_evaluator = [
    dict(
        type='CocoMetric',
        ann_file='data/coco/annotations/instances_val2017.json',
        metric=['bbox', 'segm'],
        format_only=False,
        backend_args=None),
    dict(
        type='CocoBoundaryMetric',
        ann_file='data/coco/annotations/instances_val2017.json',
        backend_args=None)
]
