"""Check converted weights against the config they are meant for."""
from typing import List, Optional

from mmengine.config import Config

from .detectron2 import check_preprocessing


class ConversionCheckError(ValueError):
    """Converted weights do not fit the config they were checked against."""


def verify_against_config(state_dict: dict,
                          config: str,
                          report: Optional[dict] = None) -> dict:
    """Load converted weights into a config's model and check what can be.

    The weights must fill the model exactly (``strict=True``). With a
    detectron2 conversion ``report``, the config must feed BGR images and,
    where the file stored them, its pixel mean / std must equal the
    config's; detectron2's current zoo files store neither, and the result
    then says so instead of claiming agreement.

    Args:
        state_dict (dict): Converted weights.
        config (str): Config file of the model they are for.
        report (dict, optional): :func:`detectron2_to_mmpointrend`'s report.

    Returns:
        dict: ``dataset_meta`` (the config's test-dataset classes and
        palette, to store in the checkpoint) and ``notes`` (list of str,
        what was and was not checked).

    Raises:
        ConversionCheckError: on missing / unexpected / misshapen keys or
            preprocessing that contradicts the file.
    """
    from mmpointrend.apis import dataset_meta_from_config, init_model
    cfg = Config.fromfile(config)
    model = init_model(cfg)
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as e:
        raise ConversionCheckError(
            f'the converted weights do not fit {config}:\n{e}') from None
    notes: List[str] = [f'loaded into {config} with strict=True']
    if report is not None:
        preprocessor = dict(cfg.model.get('data_preprocessor', {}))
        problems = check_preprocessing(report, preprocessor)
        if problems:
            raise ConversionCheckError(f'{config} does not match the '
                                       'checkpoint: ' + '; '.join(problems))
        stored = [
            k for k in ('pixel_mean', 'pixel_std') if report.get(k) is not None
        ]
        if stored:
            notes.append(f"the file's {' / '.join(stored)} agree with the "
                         'config')
        else:
            notes.append(
                'the file stores no pixel mean / std, so they could not be '
                f"checked: the config uses mean {preprocessor.get('mean')}, "
                f"std {preprocessor.get('std')}, BGR input")
    return dict(dataset_meta=dataset_meta_from_config(cfg), notes=notes)
