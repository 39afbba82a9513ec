# The generated shapes at 160x160 for the one-stage demo hosts (RTMDet-Ins,
# Mask2Former): dataset, evaluation and the 1000-iteration schedule as
# variables, which each demo config assigns to mmdet's keys (its mmdet::
# base defines those keys, and two bases may not define the same one); the
# configs add their own pipelines.
shapes_classes = ('star', 'ring', 'glyph', 'polygon')
shapes_root = 'data/shapes/'  # overridden by demo/train_demo.py


def _loader(split, **dataset):
    return dict(
        batch_size=4,
        num_workers=1,
        persistent_workers=False,
        dataset=dict(
            type='CocoDataset',
            data_root=shapes_root,
            metainfo=dict(classes=shapes_classes),
            ann_file=f'{split}.json',
            data_prefix=dict(img=f'{split}/'),
            **dataset))


shapes_train_dataloader = dict(
    _loader('train', filter_cfg=dict(filter_empty_gt=True)),
    batch_sampler=None)
shapes_val_dataloader = _loader('val', test_mode=True)
shapes_evaluator = [
    dict(
        type='CocoMetric',
        ann_file=shapes_root + 'val.json',
        metric=['bbox', 'segm'],
        format_only=False,
        backend_args=None),
    dict(
        type='CocoBoundaryMetric',
        ann_file=shapes_root + 'val.json',
        backend_args=None)
]

shapes_max_iters = 1000
shapes_train_cfg = dict(
    type='IterBasedTrainLoop',
    max_iters=shapes_max_iters,
    val_interval=shapes_max_iters)
shapes_param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(
        type='MultiStepLR',
        begin=0,
        end=shapes_max_iters,
        by_epoch=False,
        milestones=[int(shapes_max_iters * 0.75),
                    int(shapes_max_iters * 0.9)],
        gamma=0.1)
]
shapes_default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(
        by_epoch=False, interval=shapes_max_iters, max_keep_ckpts=1),
    visualization=dict(type='DetVisualizationHook', draw=False))
