# Point-supervised training data (PointSup): COCO train2017 with 10 labelled
# points per instance instead of masks, made by
#   python tools/dataset_converters/coco_to_point_annotations.py \
#       data/coco/annotations/instances_train2017.json \
#       data/coco/annotations/instances_train2017_n10_v1_without_masks.json
# The *_point-sup.py configs put these into their train dataloader; the
# augmentation is the mask configs' (shorter edge 640-800, flip).
point_sup_ann_file = 'annotations/instances_train2017_n10_v1_without_masks.json'
point_sup_train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=False),
    dict(type='LoadPointAnnotations'),
    dict(
        type='RandomChoiceResize',
        scales=[(1333, 640), (1333, 672), (1333, 704), (1333, 736),
                (1333, 768), (1333, 800)],
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackPointSupInputs')
]
