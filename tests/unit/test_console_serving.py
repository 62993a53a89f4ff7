"""The gateway serves the built console next to the API, and the vocabulary labels every code in Chinese."""

import re

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway import console
from gateway.service import VOCABULARY, GatewayService


def request(path: str, method: str = "GET") -> Request:
    return Request(EnvironBuilder(path="/" + path, method=method).get_environ())


def serve(root, path, method="GET"):
    return console.serve(request(path, method), path, root)


def built(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>民情</title>", encoding="utf-8")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    return tmp_path


def test_hashed_assets_are_cached_for_a_year_and_index_never(tmp_path):
    root = built(tmp_path)
    asset = serve(root, "assets/index-abc123.js")
    assert asset.status_code == 200
    assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert asset.mimetype in ("text/javascript", "application/javascript")
    index = serve(root, "")
    assert index.status_code == 200 and "民情" in index.get_data(as_text=True)
    assert index.headers["Cache-Control"] == "no-cache"
    assert serve(root, "favicon.svg").headers["Cache-Control"] == "no-cache"


def test_history_mode_paths_get_index_but_missing_assets_and_api_paths_do_not(tmp_path):
    root = built(tmp_path)
    page = serve(root, "cases/0b6c/detail")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert serve(root, "assets/gone-123.js").status_code == 404
    api = serve(root, "api/v1/nothing")
    assert api.status_code == 404 and api.mimetype == "application/problem+json"
    assert serve(root, "cases", "POST").status_code == 404


def test_paths_cannot_climb_out_of_the_dist_folder(tmp_path):
    (tmp_path / "dist").mkdir()
    root = built(tmp_path / "dist")
    (tmp_path / "secret.txt").write_text("no")
    answer = serve(root, "../secret.txt")
    assert answer.status_code == 200 and "民情" in answer.get_data(as_text=True)  # the page, never the file


def test_without_a_build_the_catch_all_stays_a_404_problem(tmp_path):
    answer = serve(tmp_path, "ledger")
    assert answer.status_code == 404 and "make run" in answer.get_json()["detail"]


def test_every_code_of_every_vocabulary_list_has_a_chinese_label():
    payload = GatewayService.vocabulary.__wrapped__(None, None)
    for kind, (codes, _) in VOCABULARY.items():
        labels = payload["labels"][kind]
        assert list(labels) == list(codes), kind
        for code, label in labels.items():
            assert re.search(r"[\u4e00-\u9fff]", label), f"{kind}.{code}: {label!r}"
    assert payload["labels"]["statuses"]["awaiting_supplement"] == "待补充材料"
    assert payload["handling_types"] == ["immediate", "supplement", "committed", "suggestion", "escalated"]


def test_the_console_labels_the_codes_the_services_answer_with():
    from minqing import vocabulary as vocab
    from services.feedback.polls import PollRules
    from services.points import rules

    assert vocab.MEMBER_STATUSES == rules.MEMBER_STATUSES
    assert vocab.ENTRY_KINDS == rules.ENTRY_KINDS
    assert vocab.POLL_OPTIONS == PollRules.__dataclass_fields__["options"].default


def test_the_console_page_may_load_its_own_scripts_styles_and_api_but_nothing_else(tmp_path):
    # the gateway's default policy (default-src 'none') would leave the console a blank page
    policy = serve(built(tmp_path), "ledger").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no inline or foreign script
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" in directives["style-src"]  # Element Plus positions popups with style attributes
