"""Customer lifetime value: purchase-count and spend models.

* :func:`summarise_orders` turns orders into per-customer frequency, recency,
  age and mean repeat margin (in DuckDB through Ibis).
* :class:`BetaGeoModel` (BG/NBD), :class:`ModifiedBetaGeoModel` (MBG/NBD) and
  :class:`ParetoNBDModel` model repeat purchases; :class:`GammaGammaModel` the margin
  per purchase. An estimate on the edge of the parameter space becomes the nested
  model at that limit (:mod:`~custvalue.lifetime.boundary`), and the purchase model
  can be chosen from the data (:mod:`~custvalue.lifetime.fitting`). ``.fit()``
  returns immutable results with ``params``, ``bse``, ``conf_int()``,
  ``summary()`` and prediction methods.
* :func:`customer_lifetime_value` discounts the expected margin over a horizon.
* :mod:`~custvalue.lifetime.validation` and :mod:`~custvalue.lifetime.plots`
  check a fit on a holdout period and draw the figures.
* :func:`estimate_lifetime_value` does all of it for the quarterly review and
  returns a :class:`LifetimeValueResult` (saved with the quarter's outputs).

Plot helpers are imported from :mod:`custvalue.lifetime.plots` so that
matplotlib is loaded only when figures are wanted.
"""

from ._mle import ConvergenceError, FitResults
from .bgnbd import BetaGeoModel, BetaGeoResults
from .clv import customer_lifetime_value, discounted_expected_purchases
from .gammagamma import GammaGammaModel, GammaGammaResults
from .paretonbd import ParetoNBDModel, ParetoNBDResults
from .summary import summarise_orders
from .validation import (
    HoldoutComparison,
    calibration_holdout_summary,
    compare_holdout,
    tracking_data,
)
from .boundary import NoDropoutModel, NoDropoutResults, fit_allowing_boundary
from .fitting import choose_purchase_model, fit_with_rescue
from .mbgnbd import ModifiedBetaGeoModel, ModifiedBetaGeoResults
from .estimate import estimate_lifetime_value
from .fitting import FitRecord, LifetimeFitError
from .result import LifetimeValueResult

__all__ = [
    "BetaGeoModel",
    "BetaGeoResults",
    "ConvergenceError",
    "FitRecord",
    "FitResults",
    "GammaGammaModel",
    "GammaGammaResults",
    "HoldoutComparison",
    "LifetimeFitError",
    "LifetimeValueResult",
    "ModifiedBetaGeoModel",
    "ModifiedBetaGeoResults",
    "NoDropoutModel",
    "NoDropoutResults",
    "ParetoNBDModel",
    "ParetoNBDResults",
    "calibration_holdout_summary",
    "choose_purchase_model",
    "compare_holdout",
    "customer_lifetime_value",
    "discounted_expected_purchases",
    "estimate_lifetime_value",
    "fit_allowing_boundary",
    "fit_with_rescue",
    "summarise_orders",
    "tracking_data",
]
