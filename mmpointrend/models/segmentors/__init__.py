from .stacked_encoder_decoder import StackedEncoderDecoder

__all__ = ['StackedEncoderDecoder']
