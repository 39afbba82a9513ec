"""Deployment: ONNX export of PointRend inference (:mod:`.onnx_export`),
checked with onnxruntime (:mod:`.onnx_check`; :mod:`.ort_infer` runs the
files without torch)."""
from .detector_graph import DetectorGraph
from .onnx_check import (check_detector, check_instance, check_semantic,
                         mask_agreement, run_onnx)
from .onnx_export import (InstanceMaskGraph, SemanticGraph, export,
                          export_detector, export_instance, export_semantic)

__all__ = [
    'DetectorGraph', 'InstanceMaskGraph', 'SemanticGraph', 'export',
    'run_onnx', 'mask_agreement', 'export_instance', 'check_instance',
    'export_detector', 'check_detector', 'export_semantic', 'check_semantic'
]
