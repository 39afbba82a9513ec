# detectron2's iteration schedules of the PointRend paper (WarmupMultiStepLR:
# linear warm-up over 1000 iterations from a factor of 0.001, then x0.1 at
# each step), one variable each, for configs whose base is an mmdet / mmseg
# config (which defines train_cfg and param_scheduler itself, so these can
# not be a second base of their own keys):
#   train_cfg = {{_base_.coco_3x.train_cfg}}
#   param_scheduler = {{_base_.coco_3x.param_scheduler}}
d2_warmup = dict(
    type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000)
# COCO 1x: 90k iterations of 16 images, steps at 60k and 80k
coco_1x = dict(
    train_cfg=dict(
        _delete_=True,
        type='IterBasedTrainLoop',
        max_iters=90000,
        val_interval=90000),
    param_scheduler=[
        d2_warmup,
        dict(
            type='MultiStepLR',
            begin=0,
            end=90000,
            by_epoch=False,
            milestones=[60000, 80000],
            gamma=0.1)
    ])
# COCO 3x: 270k iterations, steps at 210k and 250k
coco_3x = dict(
    train_cfg=dict(
        coco_1x['train_cfg'], max_iters=270000, val_interval=270000),
    param_scheduler=[
        d2_warmup,
        dict(
            coco_1x['param_scheduler'][1],
            end=270000,
            milestones=[210000, 250000])
    ])
# Cityscapes instance: 24k iterations of 8 images, step at 18k
cityscapes_24k = dict(
    train_cfg=dict(coco_1x['train_cfg'], max_iters=24000, val_interval=24000),
    param_scheduler=[
        d2_warmup,
        dict(coco_1x['param_scheduler'][1], end=24000, milestones=[18000])
    ])
# Cityscapes semantic (SemanticFPN): 65k iterations of 32 images, steps at
# 40k and 55k
cityscapes_sem_65k = dict(
    train_cfg=dict(max_iters=65000, val_interval=65000),
    param_scheduler=[
        d2_warmup,
        dict(
            coco_1x['param_scheduler'][1],
            end=65000,
            milestones=[40000, 55000])
    ])
