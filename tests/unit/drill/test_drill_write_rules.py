"""Write rules: their validation sentences, the read-back (headers, absent) and the summary.

The read-back runs against httpx's MockTransport: no server, no sleeping.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from harness.checks import CheckContext
from harness.checks.resilience import LostWritesCheck
from harness.drill.loader import load_drill
from harness.drill.model import TargetSpec, WriteRule
from harness.drill.plan import plan_drill
from harness.drill.target import read_headers, verify_writes
from harness.errors import ValidationFailed
from harness.metrics.store import MetricStore
from harness.metrics.synthetic import Seg, rows_for
from harness.results.model import Outcome, WriteRuleSeen, WritesSummary
from harness.results.raw import AckedWrite, WriteKind

PROJECT_DIR = Path(__file__).resolve().parents[3]
SCENARIO = PROJECT_DIR / "scenarios" / "customer_journeys.py"
DRILL = """\
name: t
target: {url: http://127.0.0.1:8080}
load:
  scenario: SCENARIO
  shape: {type: steady, level: 2}
writes:
  - endpoint: tickets:create
WRITE
phases:
  - name: baseline
    duration_s: 2
    checks:
      - {type: lost_writes}
""".replace("SCENARIO", str(SCENARIO))
TARGET = TargetSpec(url="http://deskapp.test")


def _problems(tmp_path: Path, write: str) -> list[str]:
    path = tmp_path / "d.yaml"
    path.write_text(DRILL.replace("WRITE", write), encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        plan_drill(load_drill(path), drill_file=path)
    return caught.value.problems


def test_a_bad_regex_is_named_with_file_line_and_field(tmp_path: Path) -> None:
    """An id_regex that does not compile: file:line, the field, the regex error, the fix."""
    problems = _problems(
        tmp_path,
        "    id_header: Location\n    id_regex: '/tickets/(T-\\d+'\n    read_path: /t/{id}",
    )
    assert len(problems) == 1
    assert problems[0].startswith(f"{tmp_path / 'd.yaml'}:9: writes[0] > id_regex: ")
    assert "not a valid regular expression (missing )" in problems[0]


def test_a_regex_needs_exactly_one_group(tmp_path: Path) -> None:
    """id_body_regex without a group: the count seen and an example."""
    problems = _problems(tmp_path, "    id_body_regex: 'T-\\d+'\n    read_path: /t/{id}")
    assert ":8: writes[0] > id_body_regex: must have exactly one group" in problems[0]
    assert "has 0" in problems[0]


def test_two_id_sources_are_refused(tmp_path: Path) -> None:
    """id_field and id_header together: 'give exactly one id source ... got id_field and id_header'."""
    problems = _problems(
        tmp_path, "    id_field: id\n    id_header: Location\n    read_path: /t/{id}"
    )
    assert len(problems) == 1 and ":7: writes[0]: give exactly one id source" in problems[0]
    assert "got id_field and id_header" in problems[0]


def test_no_id_source_is_refused(tmp_path: Path) -> None:
    """A rule without any id source says so and lists the sources."""
    problems = _problems(tmp_path, "    read_path: /t/{id}")
    assert "give exactly one id source: id_field, id_json, id_header" in problems[0]
    assert "(got none)" in problems[0]


def test_id_regex_without_a_header_points_to_id_body_regex(tmp_path: Path) -> None:
    """id_regex reads a header; alone, the fix names id_header or id_body_regex."""
    problems = _problems(tmp_path, "    id_json: id\n    id_regex: '(x)'\n    read_path: /t/{id}")
    assert any("id_regex reads a header" in p and "id_body_regex" in p for p in problems)


def test_an_error_status_is_no_acknowledgement(tmp_path: Path) -> None:
    """ack_status [500] is refused; absent.status [503] too (a 5xx cannot tell absent)."""
    problems = _problems(
        tmp_path,
        "    id_field: id\n    ack_status: [201, 500]\n    read_path: /t/{id}\n"
        "    absent: {status: [503]}",
    )
    assert any(":9: writes[0] > ack_status: must be 2xx or 3xx" in p for p in problems)
    assert any(":11: writes[0] > absent > status: must be statuses from 200" in p for p in problems)


def test_an_unset_environment_variable_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """read_headers naming ${DESK_AUTH} while it is unset (or empty): file:line, header, name."""
    monkeypatch.delenv("DESK_AUTH", raising=False)
    write = (
        "    id_field: id\n    read_path: /t/{id}\n"
        '    read_headers: {Authorization: "Basic ${DESK_AUTH}"}'
    )
    problems = _problems(tmp_path, write)
    assert len(problems) == 1
    assert (
        ":10: writes[0] > read_headers > Authorization: environment variable DESK_AUTH"
        in (problems[0])
    )
    assert "export DESK_AUTH=" in problems[0]
    monkeypatch.setenv("DESK_AUTH", "")
    assert "DESK_AUTH is not set (or empty)" in _problems(tmp_path, write)[0]
    monkeypatch.setenv("DESK_AUTH", "c3RhZmY6eA==")
    path = tmp_path / "d.yaml"
    plan_drill(load_drill(path), drill_file=path)  # no problem left


def test_a_malformed_reference_is_refused(tmp_path: Path) -> None:
    """'${DESK AUTH}' is not a reference: the sentence shows the form to use."""
    problems = _problems(
        tmp_path,
        '    id_field: id\n    read_path: /t/{id}\n    read_headers: {X-Key: "${DESK AUTH}"}',
    )
    assert "write environment variables as ${NAME}" in problems[0]


def test_read_headers_fill_variables_and_never_send_a_hole() -> None:
    """${NAME} is filled from the environment; a missing one is a sentence, not a header."""
    rule = WriteRule(
        endpoint="e", id_field="id", read_path="/t/{id}", read_headers={"X-Key": "k ${A}-${B}"}
    )
    assert read_headers(rule, {"A": "1", "B": "2"}) == {"X-Key": "k 1-2"}
    missing = read_headers(rule, {"A": "1"})
    assert isinstance(missing, str) and "environment variable B is not set" in missing


def _acked(write_id: str, kind: WriteKind = WriteKind.ACKNOWLEDGED) -> AckedWrite:
    return AckedWrite(
        t_s=1.0,
        endpoint="ticket:create",
        write_id=write_id,
        read_path=f"/tickets/{write_id}",
        kind=kind,
    )


def _verify(handler, rule: WriteRule, writes: list[AckedWrite], **kw):
    clock = iter(range(0, 1000, 20))  # every read-back round is past the settle deadline
    return verify_writes(
        TARGET,
        writes,
        [rule],
        transport=httpx.MockTransport(handler),
        clock=lambda: float(next(clock)),
        **kw,
    )


def test_absent_by_body_text_with_staff_headers() -> None:
    """A 200 'Invalid ticket ID' page is absent; the read-back sent the filled-in header."""
    seen_auth = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen_auth.append(request.headers.get("Authorization"))
        if request.url.path.endswith("T-2"):
            return httpx.Response(200, text="<p>Invalid ticket ID</p>")
        return httpx.Response(200, text="<span>T-1</span>")

    rule = WriteRule(
        endpoint="ticket:create",
        id_header="Location",
        read_path="/tickets/{id}",
        read_headers={"Authorization": "Basic ${AUTH}"},
        absent={"body_contains": "Invalid ticket ID"},
    )
    results = _verify(handler, rule, [_acked("T-1"), _acked("T-2")], environ={"AUTH": "s3cret"})
    assert [(r.write_id, r.found) for r in results] == [("T-1", True), ("T-2", False)]
    assert "'Invalid ticket ID'" in results[1].detail and "s3cret" not in results[1].detail
    assert set(seen_auth) == {"Basic s3cret"}


def test_absent_by_json_and_status() -> None:
    """A JSON predicate and the status list each mean absent; anything else 2xx is present."""

    def handler(request: httpx.Request) -> httpx.Response:
        match request.url.path.rsplit("/", 1)[-1]:
            case "gone":
                return httpx.Response(410)
            case "deleted":
                return httpx.Response(200, json={"ticket": None, "state": "deleted"})
            case "flag":
                return httpx.Response(200, json={"deleted": True})
            case _:
                return httpx.Response(200, json={"deleted": 1, "state": "open"})

    rule = WriteRule(
        endpoint="ticket:create",
        id_field="id",
        read_path="/tickets/{id}",
        absent={"json": {"path": "state", "equals": "deleted"}},
    )
    writes = [_acked(i) for i in ("gone", "deleted", "kept")]
    assert [r.found for r in _verify(handler, rule, writes)] == [False, False, True]
    flag = WriteRule(
        endpoint="ticket:create",
        id_field="id",
        read_path="/tickets/{id}",
        absent={"json": {"path": "deleted", "equals": True}},
    )
    found = [r.found for r in _verify(handler, flag, [_acked("flag"), _acked("kept")])]
    assert found == [False, True]  # {"deleted": 1} is not true


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        (httpx.Response(503, text="Invalid ticket ID"), "read-back answered 503"),
        (httpx.Response(401), "credentials?"),
        (httpx.Response(302, headers={"Location": "/login"}), "redirects are not followed"),
    ],
)
def test_a_read_back_that_cannot_decide_is_unverifiable(
    answer: httpx.Response, detail: str
) -> None:
    """5xx (even with the absent text), 401, a redirect: unverifiable, never verified or lost."""
    rule = WriteRule(
        endpoint="ticket:create",
        id_field="id",
        read_path="/tickets/{id}",
        absent={"body_contains": "Invalid ticket ID"},
    )
    [result] = _verify(lambda request: answer, rule, [_acked("T-1")])
    assert result.found is None and detail in result.detail


def test_a_timeout_is_unverifiable() -> None:
    """A read-back that times out cannot decide."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    rule = WriteRule(endpoint="ticket:create", id_field="id", read_path="/tickets/{id}")
    [result] = _verify(handler, rule, [_acked("T-1")])
    assert result.found is None and "read failed" in result.detail


def test_an_unset_variable_at_read_back_sends_nothing() -> None:
    """The variable vanished after validation: unverifiable, and no request went out."""
    sent = []
    rule = WriteRule(
        endpoint="ticket:create",
        id_field="id",
        read_path="/tickets/{id}",
        read_headers={"Authorization": "Basic ${GONE}"},
    )
    [result] = _verify(
        lambda r: sent.append(r) or httpx.Response(200), rule, [_acked("T-1")], environ={}
    )
    assert result.found is None and "GONE is not set" in result.detail and sent == []


def test_only_writes_with_an_id_are_read_back() -> None:
    """Indeterminate writes with an id are read back; unmatched rows and unknown ids are not."""
    paths = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return httpx.Response(200)

    rule = WriteRule(endpoint="ticket:create", id_field="id", read_path="/tickets/{id}")
    unknown = AckedWrite(
        t_s=1, endpoint="ticket:create", write_id=None, read_path=None, kind=WriteKind.INDETERMINATE
    )
    unmatched = unknown.model_copy(update={"kind": WriteKind.UNMATCHED, "note": "answered 403"})
    writes = [_acked("A"), _acked("K-1", WriteKind.INDETERMINATE), unknown, unmatched]
    assert [r.write_id for r in _verify(handler, rule, writes)] == ["A", "K-1"]
    assert paths == ["/tickets/A", "/tickets/K-1"]


def _ctx(writes: WritesSummary | None, endpoints: tuple[str, ...] = ()) -> CheckContext:
    segments = [Seg(0.0, 1.0, e, Outcome.OK, rps=4) for e in endpoints]
    store = MetricStore.from_rows(rows_for(segments, 0.25), 0.25)
    return CheckContext(store=store, bucket_s=0.25, phases=[("all", 0.0, 1.0)], writes=writes)


def test_nothing_tracked_says_which_rule_saw_what() -> None:
    """No acknowledged write: 'no data' naming the rule, its requests and the answers seen."""
    seen = WriteRuleSeen(
        endpoint="ticket:create",
        requests=27,
        acknowledged=0,
        indeterminate=0,
        not_acknowledged=["answered 302: not an acknowledgement (2xx); Location: '/tickets/T-1'"],
    )
    result = LostWritesCheck().evaluate(
        _ctx(WritesSummary(acknowledged=0, verified=0, rules=[seen]))
    )
    assert not result.passed and result.measured is None
    assert result.detail.startswith("no data: no writes were tracked: rule 'ticket:create' took")
    assert "none of its 27 request(s)" in result.detail and "answered 302" in result.detail


def test_nothing_tracked_because_the_endpoint_was_never_requested() -> None:
    """A misspelt endpoint: the detail lists the endpoints that were requested."""
    seen = WriteRuleSeen(endpoint="tickets:create", requests=0, acknowledged=0, indeterminate=0)
    ctx = _ctx(
        WritesSummary(acknowledged=0, verified=0, rules=[seen]),
        ("ticket:create", "ticket:form", "harness:dropped"),
    )
    detail = LostWritesCheck().evaluate(ctx).detail
    assert "rule 'tickets:create': that endpoint was never requested" in detail
    assert "(requested: ticket:create, ticket:form)" in detail


def test_indeterminate_writes_are_counted_and_never_lost() -> None:
    """Indeterminate writes appear in the detail; found ones were created despite an error."""
    writes = WritesSummary(
        acknowledged=10,
        verified=10,
        indeterminate=7,
        indeterminate_answers={"no answer: timeout": 5, "answered 500": 2},
        indeterminate_known_id=7,
        indeterminate_found=["K-1", "K-2", "K-3", "K-4", "K-5"],
    )
    result = LostWritesCheck().evaluate(_ctx(writes))
    assert result.passed and result.measured == 0
    assert "7 indeterminate (sent, answer lost: 5 no answer: timeout, 2 answered 500)" in (
        result.detail
    )
    assert "7 read back by the id in the request: 5 of them found" in result.detail
    assert "created although the client saw an error" in result.detail


def test_each_rule_reads_its_absent_writes_again_until_its_own_settle_timeout() -> None:
    """settle_timeout_s is per rule: 0 reads an absent write once, 3 reads it until 3 s."""
    now = [0.0]
    reads: dict[str, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        now[0] += 1.0  # each read-back takes 1 s of the fake clock
        write_id = request.url.path.rsplit("/", 1)[-1]
        reads[write_id] = reads.get(write_id, 0) + 1
        return httpx.Response(404)

    once = WriteRule(endpoint="a", id_field="id", read_path="/a/{id}", settle_timeout_s=0)
    patient = WriteRule(endpoint="b", id_field="id", read_path="/b/{id}", settle_timeout_s=3)
    writes = [
        AckedWrite(t_s=1.0, endpoint="a", write_id="a1", read_path="/a/a1"),
        AckedWrite(t_s=1.0, endpoint="b", write_id="b1", read_path="/b/b1"),
    ]
    results = verify_writes(
        TARGET,
        writes,
        [once, patient],
        transport=httpx.MockTransport(handler),
        clock=lambda: now[0],
    )
    assert [(r.write_id, r.found) for r in results] == [("a1", False), ("b1", False)]
    assert reads == {"a1": 1, "b1": 2}
    assert WriteRule.model_fields["settle_timeout_s"].default == 10.0


def test_read_backs_ignore_a_proxy_from_the_environment(
    ok_server: str, refused_proxy_env: None
) -> None:
    """HTTP_PROXY set in CI must not route read-backs of a loopback target through it
    (here a port nothing listens on): the write is read straight from the server."""
    target = TargetSpec(url=ok_server)
    rule = WriteRule(endpoint="t", id_field="id", read_path="/t/{id}", settle_timeout_s=0)
    write = AckedWrite(t_s=1.0, endpoint="t", write_id="T-1", read_path="/t/T-1")
    (result,) = verify_writes(target, [write], [rule])
    assert result.found is True, result
