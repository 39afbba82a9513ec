"""Deployment: ONNX export of PointRend inference."""
from .onnx_export import (InstanceMaskGraph, SemanticGraph, export,
                          export_instance, export_semantic, mask_agreement,
                          run_onnx)

__all__ = [
    'InstanceMaskGraph', 'SemanticGraph', 'export', 'run_onnx',
    'mask_agreement', 'export_instance', 'export_semantic'
]
