"""Build-time checks of the config keys the PointRend heads read."""
import difflib
from typing import Optional


def check_keys(cfg: Optional[dict], known: set, where: str) -> None:
    """Raise ``KeyError`` on a key of ``cfg`` not in ``known``, naming the
    closest known one (a misspelt key would otherwise be ignored)."""
    for key in (cfg or {}):
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f' Did you mean {close[0]!r}?' if close else ''
            raise KeyError(f'Unknown key {key!r} in {where}.{hint} Known '
                           f'keys: {sorted(known)}')
