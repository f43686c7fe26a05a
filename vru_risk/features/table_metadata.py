"""The Parquet metadata keys of a feature table: its provenance, written by
:func:`~vru_risk.features.build.build_features` and read wherever a table is reused or trained on.

The keys are bytes, as pyarrow returns them (``pq.read_metadata(path).metadata``). They are
stored in every table already built: renaming one makes those tables unreadable (a training
refuses them, the cache rebuilds them).
"""

from __future__ import annotations

from typing import Final

#: the hash of the feature spec the table was built with
SPEC_HASH_KEY: Final = b"vru.spec_hash"
#: the fingerprint of the data folder it was built from
DATA_FINGERPRINT_KEY: Final = b"vru.data_fingerprint"
#: how that fingerprint was made: ``content`` (the files' bytes) or ``metadata`` (their names,
#: sizes and modification times); absent in tables built before it existed, which are content
DATA_FINGERPRINT_KIND_KEY: Final = b"vru.data_fingerprint_kind"
#: the data folder's extract date (ISO)
EXTRACT_DATE_KEY: Final = b"vru.extract_date"
#: the build settings (cohort, triggers, labels) as JSON
BUILD_CONFIG_KEY: Final = b"vru.build_config"
#: the sources the folder lacks, comma-separated
SOURCES_UNAVAILABLE_KEY: Final = b"vru.sources_unavailable"
#: the label lag in days
LABEL_LAG_DAYS_KEY: Final = b"vru.label_lag_days"
#: when records count as known: ``known`` (their reporting dates) or ``event``
KNOWLEDGE_DATES_KEY: Final = b"vru.knowledge_dates"
