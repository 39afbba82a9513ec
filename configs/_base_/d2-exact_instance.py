# detectron2-exact testing of converted zoo weights, shared by the
# configs/point_rend/*_d2-exact.py files:
# - images resized with PIL (detectron2's ResizeShortestEdge); mmdet's cv2
#   resize changes ~20-30% of the pixels by +-1, enough to move 30-40 of
#   100 detections of the R50 fixture;
# - RPN proposals ranked by logit (LogitRankedRPNHead) instead of float32
#   sigmoid scores, which tie once logits pass ~9;
# - detections whose box is empty at the output scale dropped after
#   clipping (detectron2's detector_postprocess).
d2_exact_model = dict(
    rpn_head=dict(type='LogitRankedRPNHead'),
    test_cfg=dict(rcnn=dict(drop_empty_boxes=True)))

d2_exact_coco_test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    # detectron2's ResizeShortestEdge(800, 1333) with PIL bilinear
    dict(type='Resize', scale=(1333, 800), keep_ratio=True, backend='pillow'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
# ResizeShortestEdge(1024, 2048): Cityscapes' own size
d2_exact_cityscapes_test_pipeline = [
    dict(t, scale=(2048, 1024)) if t['type'] == 'Resize' else t
    for t in d2_exact_coco_test_pipeline
]
