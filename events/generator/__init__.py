"""The embedded e+e- generator at SuperKEKB: Standard Model stream, dark-sector signals, detector response.

Public API::

    generate(n, seed=0, signals=None, processes=None, chunk_size=5000, config=None) -> EventBatch
    stream(seed=0, signals=None, processes=None, chunk_size=5000, config=None, n_events=None) -> Iterator
    parse_signal("zprime:mass=3.0,fraction=0.01") -> SignalSpec
    rate_model(n_per_process=2000, seed=0) -> events.trigger.RateModel (the L1 rates of every process)

``processes`` selects Standard Model processes by name or code (``processes.PROCESSES``), as a list (stream
shares renormalised) or a mapping to weights; an empty list with signals gives pure signal. The stream's
shares are σ · ε of the L1 rate model (``stream_model.py``, the monitoring panels' model).
"""

from events.generator.engine import GeneratorError, generate, rate_model, stream
from events.generator.physics import GeneratorConfig
from events.generator.signals import SignalSpec, SignalSpecError, parse_signal

__all__ = [
    "GeneratorConfig",
    "GeneratorError",
    "SignalSpec",
    "SignalSpecError",
    "generate",
    "parse_signal",
    "rate_model",
    "stream",
]
