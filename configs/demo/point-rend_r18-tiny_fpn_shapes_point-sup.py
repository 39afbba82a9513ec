# CPU demo: the demo PointRend trained from 10 labelled points per object
# (PointSup) instead of masks; demo/train_demo.py --task pointsup writes
# train_points_n10.json with tools/dataset_converters'
# coco_to_point_annotations (mmpointrend.datasets.sample_point_annotations).
_base_ = './point-rend_r18-tiny_fpn_shapes.py'

train_dataloader = dict(
    dataset=dict(
        type='PointSupCocoDataset',
        ann_file='train_points_n10.json',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True, with_mask=False),
            dict(type='LoadPointAnnotations'),
            dict(
                type='RandomChoiceResize',
                scales=[(320, 128), (320, 144), (320, 160), (320,
                                                             176), (320, 192)],
                keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackPointSupInputs')
        ]))
# the mask branch learns at the annotated points (AnnotatedPointSampler)
model = dict(train_cfg=dict(rcnn=dict(point_sampling='annotated')))
