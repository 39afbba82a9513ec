# detectron2-exact testing of converted zoo weights, shared by the
# configs/point_rend/*_d2-exact.py files:
# - images resized with PIL (detectron2's ResizeShortestEdge,
#   d2_exact_*_test_pipeline of d2-training_instance.py, which the paper's
#   baselines inherit); mmdet's cv2 resize changes ~20-30% of the pixels by
#   +-1, enough to move 30-40 of 100 detections of the R50 fixture;
# - RPN proposals ranked by logit (LogitRankedRPNHead) instead of float32
#   sigmoid scores, which tie once logits pass ~9;
# - detections whose box is empty at the output scale dropped after
#   clipping (detectron2's detector_postprocess).
d2_exact_model = dict(
    rpn_head=dict(type='LogitRankedRPNHead'),
    test_cfg=dict(rcnn=dict(drop_empty_boxes=True)))
