"""The networks, by name: ResEmoteNet C1-C6 (`resemotenet`) and the released repository's comparison
networks (`baselines`), behind one registry (`registry`). Importing this imports no torch."""
from resemote.models.registry import (MODELS, ModelSpec, conv_linear_macs, count_flops, count_parameters,
                                      create_model, get_spec, model_names, model_summary)

__all__ = ["MODELS", "ModelSpec", "conv_linear_macs", "count_flops", "count_parameters", "create_model", "get_spec",
           "model_names", "model_summary"]
