# DeepLabV3 on ResNet-103 (the 3x3-stem ResNetV1c-101), output stride 8,
# Cityscapes, the PointRend paper's recipe (appendix B, Table 6): 16 images
# per batch (2 x 8 GPUs), 768x768 crops, 90k iterations, poly schedule from
# 0.01 with a 1000-iteration linear warm-up (factor 0.001, as detectron2),
# lr x10 on the ASPP head and its prediction conv, SyncBN over the 16 images,
# scale 0.5-2.0 with a 32 pixel step, flip; no auxiliary head; whole-image
# inference.
# The paper's "DeeplabV3-OS-8" row (Table 6) is the OS16 model evaluated with
# res4 dilated: `tools/test.py` this config with the OS16 config's checkpoint
# (the weights are the same shapes); training this config trains at OS8.
_base_ = 'mmseg::deeplabv3/deeplabv3_r101-d8_4xb2-80k_cityscapes-512x1024.py'

crop_size = (768, 768)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(dilations=(1, 12, 24, 36), dropout_ratio=-1),
    auxiliary_head=None)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomChoiceResize',
        scales=[(4096, s) for s in range(512, 2049, 32)],
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))

max_iters = 90000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
# detectron2's WarmupPolyLR: lr(t) = 0.01 * warmup(t) * (1 - t / 90k)^0.9,
# the poly factor running from iteration 0 and the warm-up factor going from
# 0.001 (detectron2's WARMUP_FACTOR; the paper's "from a learning rate of
# 0.001" is that factor) to 1 over 1000 iterations
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=1000),
    # mmengine's PolyLR reaches zero at end - 1: end = max_iters + 1 gives
    # detectron2's (1 - t / max_iters)^0.9
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=max_iters + 1,
        by_epoch=False)
]
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}))
auto_scale_lr = dict(enable=False, base_batch_size=16)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=10000))

# Testing: mIoU, boundary IoU / F-score (mmpointrend's SegBoundaryMetric,
# d = 2% of the diagonal) and the official Cityscapes evaluation
# (cityscapesscripts via mmseg's CityscapesMetric, against gtFine/val
# *_labelIds.png; category and class IoU). Prepare the data with
# `python tools/dataset_converters/cityscapes.py data/cityscapes --nproc 8`.
custom_imports = dict(imports=['mmpointrend'], allow_failed_imports=False)
test_evaluator = [
    dict(type='IoUMetric', iou_metrics=['mIoU']),
    dict(type='SegBoundaryMetric'),
    dict(
        type='CityscapesMetric',
        output_dir='work_dirs/cityscapes_metric/semantic')
]
