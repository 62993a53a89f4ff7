"""Every process's /metrics is valid Prometheus text, and it exposes what deploy/ alerts and dashboards query."""

from __future__ import annotations

import requests
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families
from promql import deploy_queries, exposed, mismatches


def scrape(address: str):
    response = requests.get(f"{address}/metrics", timeout=10)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["Content-Type"].startswith("text/plain"), response.headers["Content-Type"]
    assert "version=0.0.4" in response.headers["Content-Type"]  # what Prometheus 2 and 3 both read
    families = list(text_string_to_metric_families(response.text))  # raises on anything but Prometheus text
    assert families
    return response.text


def test_every_process_answers_metrics_with_prometheus_text(
    gateway, gateway_metrics, intake, routing, feedback, points
):
    requests.get(f"{gateway}/api/v1/vocabulary", timeout=10)  # one request, so the gateway has HTTP samples
    # the gateway's /metrics is on its internal port, not the API's
    processes = {"gateway": f"http://{gateway_metrics}"} | {
        c.service_name: "http://" + c.config["WEB_SERVER_ADDRESS"] for c in (intake, routing, feedback, points)
    }
    series = {}
    for name, address in processes.items():
        text = scrape(address)
        assert text, name
        series[name] = exposed(text)
    assert "minqing_http_requests_total" in series["gateway"]
    assert "minqing_rpc_calls_total" in series["routing"]
    # a Prometheus that asks for OpenMetrics gets it
    accept = {"Accept": "application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5"}
    answer = requests.get(f"{processes['routing']}/metrics", headers=accept, timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/openmetrics-text")
    assert list(openmetrics_families(answer.text))

    # what deploy/ queries is there, with the labels it groups by, in what the running processes expose
    union = {}
    for one in series.values():
        for metric, labels in one.items():
            union[metric] = labels if union.get(metric) is None else union[metric] | (labels or set())
    problems = [p for where, expr in deploy_queries() for p in mismatches(expr, where, union)]
    assert problems == []
