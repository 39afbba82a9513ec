# 4x conv Mask R-CNN R50-FPN, the PointRend paper's 3x schedule: 210k / 40k /
# 20k iterations at 0.02 / 0.002 / 0.0002; everything else as the 1x config.
_base_ = './mask-rcnn_r50-caffe_fpn_ms-poly-1x-iter_coco.py'

max_iters = 270000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=1000),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iters,
        by_epoch=False,
        milestones=[210000, 250000],
        gamma=0.1)
]
