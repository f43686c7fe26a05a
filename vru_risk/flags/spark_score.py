"""Scoring teachable moments on Spark: the figures of :func:`~vru_risk.flags.score.score_moments`
for moments held in a Spark DataFrame.

Scoring is the one step of the daily job whose cost grows with every moment (allocation and
explaining only touch the few moments that become flags), so it is the step the Spark engine
spreads over executors. Each partition is scored with ``mapInPandas`` by
:func:`~vru_risk.flags.score.score_frame`, the same per-batch function the DuckDB path calls on
the whole frame: what a score is (the spec check, the calibrated ``predict``, the percentile in
the model's stored reference distribution, the unseen pattern of sources) has one home, and
every figure depends on its row alone, so scoring in batches gives the figures of scoring at
once.

The model travels as text, never as a pickled booster: the texts of its saved files
(:meth:`RiskModel.texts`, the booster as ``model_to_string``) are broadcast once, and each task
builds its :class:`RiskModel` once per partition with one LightGBM thread (the executors' cores
are Spark's to share out). A cluster's executors need this package installed.

The scored moments are few per day, so they come back to the driver (``toPandas``) for
programme matching and explaining, which run as on the DuckDB path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from vru_risk.data.spark_session import is_connect
from vru_risk.features.moments import Moments
from vru_risk.flags.score import SCORE_COLUMNS, SCORED_ID_COLUMNS, score_frame
from vru_risk.models.risk_model import FrameMismatchError, RiskModel

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: the columns a moments DataFrame must have besides the model's features
NEEDED_COLUMNS = (*SCORED_ID_COLUMNS, "sources_unavailable")
#: the order of the rows :func:`score_moments_spark` returns (that of ``build_moments``)
ROW_ORDER = ("as_of", "person_id")


class _BatchScorer:
    """The function ``mapInPandas`` runs on each partition: the model is rebuilt from its texts
    once per partition (one thread), then every batch is scored by ``score_frame``."""

    def __init__(self, broadcast: Any, texts: Mapping[str, str] | None) -> None:
        self.broadcast = broadcast  # a Broadcast of the texts (classic Spark)
        self.texts = texts  # the texts themselves (Spark Connect has no broadcast)

    def __call__(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        texts: Mapping[str, str] = self.broadcast.value if self.texts is None else self.texts
        model = RiskModel.from_texts(texts, threads=1)
        for batch in batches:
            yield score_frame(model, batch)


def score_moments_spark(spark: SparkSession, moments: DataFrame, model: RiskModel) -> pd.DataFrame:
    """:func:`~vru_risk.flags.score.score_moments` of the moments in a Spark DataFrame, scored on
    the executors and collected.

    ``moments`` has :data:`NEEDED_COLUMNS` and the model's features (any other column is left
    on the executors). The result has the columns and dtypes ``score_moments`` gives for the
    same moments collected with ``toPandas``, the rows in :data:`ROW_ORDER` (the order
    ``build_moments`` gives), whatever the partitioning. Raises
    :class:`~vru_risk.models.risk_model.FrameMismatchError` naming missing columns.
    """
    from pyspark.sql.types import BooleanType, DoubleType, StructField, StructType

    present = set(moments.columns)
    missing = [c for c in (*NEEDED_COLUMNS, *model.spec.names) if c not in present]
    if missing:
        raise FrameMismatchError(
            [f"missing column(s) in the Spark moments: {', '.join(missing[:10])}"]
        )
    rows = moments.select(*[f"`{c}`" for c in (*NEEDED_COLUMNS, *model.spec.names)])
    kinds = {"float64": DoubleType(), "bool": BooleanType()}
    schema = StructType(
        [rows.schema[c] for c in SCORED_ID_COLUMNS]
        + [StructField(name, kinds[dtype], True) for name, dtype in SCORE_COLUMNS.items()]
    )
    texts = model.texts()
    broadcast = None if is_connect(spark) else spark.sparkContext.broadcast(texts)
    scorer = _BatchScorer(broadcast, texts if broadcast is None else None)
    try:
        scored = rows.mapInPandas(scorer, schema).toPandas()
    finally:
        if broadcast is not None:
            broadcast.unpersist()
    scored = scored.sort_values(list(ROW_ORDER), kind="stable", ignore_index=True)
    for name, dtype in SCORE_COLUMNS.items():  # an empty collect has no rows to infer from
        scored[name] = scored[name].astype(np.dtype(dtype))
    return scored


def score_moments_on_spark(spark: SparkSession, moments: Moments, model: RiskModel) -> pd.DataFrame:
    """Exactly :func:`~vru_risk.flags.score.score_moments` of moments built on the driver,
    scored on Spark: the frame is sent to Spark, scored by :func:`score_moments_spark`, and the
    scores put back in the frame's order beside its own id columns (so every dtype is the
    driver's). Raises ``ValueError`` when a moment (person, as-of day) is listed twice: its
    scores could not be told apart.
    """
    frame = moments.frame
    keys = frame[list(ROW_ORDER)]
    if keys.duplicated().any():
        raise ValueError(
            "the moments list a (person_id, as_of) twice; build the moments again (one row "
            "per young person and day)"
        )
    columns = [*NEEDED_COLUMNS, *model.spec.names]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise FrameMismatchError([f"missing column(s): {', '.join(missing[:10])}"])
    if len(frame) == 0:
        return score_frame(model, frame)
    sdf = spark.createDataFrame(frame[columns])
    scored = score_moments_spark(spark, sdf, model)
    position = pd.Series(np.arange(len(frame)), index=pd.MultiIndex.from_frame(keys))
    back = position.reindex(pd.MultiIndex.from_frame(scored[list(ROW_ORDER)])).to_numpy()
    if len(scored) != len(frame) or np.isnan(back.astype("float64")).any():
        raise RuntimeError(
            f"Spark returned {len(scored)} scored moments for the {len(frame)} sent; score "
            "again (a lost or altered row must never go unnoticed)"
        )
    order = np.empty(len(frame), dtype=np.int64)
    order[back.astype(np.int64)] = np.arange(len(scored))
    out = frame[list(SCORED_ID_COLUMNS)].copy()
    for name in SCORE_COLUMNS:
        out[name] = scored[name].to_numpy()[order]
    return out
