"""Deployment: ONNX export of PointRend inference, checked with
onnxruntime (:mod:`.ort_infer` runs the files without torch)."""
from .detector_graph import DetectorGraph
from .onnx_export import (InstanceMaskGraph, SemanticGraph, check_detector,
                          check_semantic, export, export_detector,
                          export_instance, export_semantic, mask_agreement,
                          run_onnx)

__all__ = [
    'DetectorGraph', 'InstanceMaskGraph', 'SemanticGraph', 'export',
    'run_onnx', 'mask_agreement', 'export_instance', 'export_detector',
    'check_detector', 'export_semantic', 'check_semantic'
]
