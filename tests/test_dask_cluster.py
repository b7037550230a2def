"""Dask evaluator without a cluster: the extra missing, bad addresses, lazy start.

(Evaluation on a real LocalCluster is in tests/e2e/test_backends.py, which starts one.)
"""

from __future__ import annotations

import sys

import pytest
from test_evaluation import make_problem

from evonet.config import ConfigError, RunConfig
from evonet.dask_cluster import DaskEvaluator, check_dask
from evonet.evaluation import make_evaluator


def test_missing_dask_extra_is_a_config_error_saying_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    with pytest.raises(ConfigError, match=r"pip install 'evonet\[dask\]'"):
        make_evaluator(RunConfig(backend="dask"), make_problem())
    with pytest.raises(ConfigError, match="dask extra"):
        check_dask("")


@pytest.mark.parametrize("address", ["nonsense", "http://host:8786", "tcp://host:port"])
def test_malformed_scheduler_address_is_a_config_error(address):
    with pytest.raises(ConfigError, match="bad dask scheduler address"):
        check_dask(address)


def test_local_cluster_is_started_only_when_first_needed():
    evaluator = DaskEvaluator(make_problem(), "", workers=2)
    assert evaluator._cluster is None and evaluator._client is None
    assert evaluator.workers == 2
    evaluator.close()
