"""The rules the server shares with the pages, read once from their one definition, static/shared_rules.json.

The pages import the same file (static/js/shared_rules.js), so a default, a cap or a message changed there changes on
both sides; tests/api/test_shared_rules.py and tests/js/shared_rules.test.js hold each side to it. Each rule keeps its
public name where it was used before (gate.RUN_DEFAULTS, headless.MAX_OVERFIT_IMAGES, ...): those re-export these.
"""

from __future__ import annotations

import json
from types import MappingProxyType

from . import PROJECT_ROOT

RULES_FILE = PROJECT_ROOT / "static" / "shared_rules.json"
RUN_ID_FIELD = "{run_id}"

_rules = json.loads(RULES_FILE.read_text(encoding="utf-8"))

# What a run's config means when a key is missing: the keys are run-config keys, the page's camelCase.
RUN_DEFAULTS = MappingProxyType(dict(_rules["run_defaults"]["values"]))
# The most images a sanity ("overfit") run takes: `browsertrain train --overfit N` and the train page refuse more.
MAX_OVERFIT_IMAGES: int = _rules["max_overfit_images"]
IMAGENET_MEAN: tuple[float, ...] = tuple(_rules["imagenet"]["mean"])
IMAGENET_STD: tuple[float, ...] = tuple(_rules["imagenet"]["std"])
REFERENCE_FORMAT: str = _rules["exports"]["reference_format"]
TFJS_FORMATS: tuple[str, ...] = tuple(_rules["exports"]["tfjs_formats"])
# Built through TensorFlow (the optional `export` extra).
TF_FORMATS: tuple[str, ...] = tuple(_rules["exports"]["tf_formats"])
# An export that loses more than this many points of validation accuracy is flagged and needs a confirm.
DEFAULT_MAX_ACCURACY_DROP = float(_rules["exports"]["default_max_accuracy_drop"])
# A detection export whose boxes match the float32 model's less than this (matched IoU, pooled) is flagged.
MIN_BOX_AGREEMENT = float(_rules["exports"]["min_box_agreement"])
# A landmarks export whose points move more than this share of the box diagonal from the float32 model's is flagged.
MAX_POINT_SHIFT = float(_rules["exports"]["max_point_shift"])
_RUN_FINISHED = _rules["messages"]["run_finished"]


def run_finished_message(run_id: str) -> str:
    """Why a finished run refuses a change, and how to train on from it (the train page says the same)."""
    return _RUN_FINISHED.replace(RUN_ID_FIELD, run_id)
