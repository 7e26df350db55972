"""pytest glue for Python tests: the ``model`` and ``case`` fixtures, their results, and
the baseline's runs put back beside a selected candidate's (``counterparts``).

Only tests marked ``@pytest.mark.modelguard`` are parametrized, so a project's own
``model`` or ``case`` fixtures are left alone.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..core.errors import GraderConfigError, SuiteError
from . import counterparts
from .items import CaseItem
from .keys import MARKER, READS, RESULTS, session_of

if TYPE_CHECKING:  # loaded when a test over models runs: a plain pytest run never does
    from ..suite import Case, Suite
    from .client import ModelClient

CLIENT: pytest.StashKey[ModelClient] = pytest.StashKey()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(suite=PATH): run this test once per model, and once per case of the suite "
        "for tests taking the `case` fixture",
    )


def _suite_for(metafunc: pytest.Metafunc, marker: pytest.Mark) -> Suite:
    suite = marker.kwargs.get("suite")
    if not isinstance(suite, str | Path):
        pytest.fail(
            f"{metafunc.definition.nodeid}: the `case` fixture needs "
            "@pytest.mark.modelguard(suite='path/to/cases.modelguard.yaml')",
            pytrace=False,
        )
    path = Path(metafunc.definition.path).parent / suite
    try:
        from ..suite import load_suite

        return load_suite(path, metafunc.config.rootpath)
    except (SuiteError, GraderConfigError) as exc:
        pytest.fail(str(exc), pytrace=False)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker(MARKER)
    if marker is None:
        return
    if "case" in metafunc.fixturenames:
        cases = _suite_for(metafunc, marker).cases
        params = [pytest.param(c, id=c.id, marks=_tag_marks(metafunc.config, c)) for c in cases]
        metafunc.parametrize("case", params, indirect=True)
    if "model" in metafunc.fixturenames:
        models = session_of(metafunc.config).settings.models
        if not models:
            pytest.fail(
                f"{metafunc.definition.nodeid}: no models: set baseline (and models) in "
                "[tool.modelguard] or pass --baseline/--models",
                pytrace=False,
            )
        names = [m.name for m in models]
        metafunc.parametrize("model", names, ids=names, indirect=True)


def _tag_marks(config: pytest.Config, case: Case) -> list[pytest.MarkDecorator]:
    """A case's tags as markers, as suite items carry them: ``-m TAG`` selects both."""
    registered = session_of(config).registered_tags
    for tag in case.tags:
        if tag.isidentifier() and tag not in registered:
            registered.add(tag)
            config.addinivalue_line("markers", f"{tag}: modelguard case tag")
    return [getattr(pytest.mark, tag) for tag in case.tags if tag.isidentifier()]


def pytest_deselected(items: list[pytest.Item]) -> None:
    tests = counterparts.remember(items)
    if tests:
        session_of(items[0].config).deselected_tests += tests


@pytest.hookimpl(trylast=True)  # after -k, -m and --deselect have chosen
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A selected candidate's run of a test over a case brings back the baseline's."""
    settings = session_of(config).settings
    baseline = settings.baseline
    if baseline is not None and settings.pair_deselected:
        counterparts.restore(config, items, baseline.name)


@pytest.fixture
def case(request: pytest.FixtureRequest) -> Case:
    """One case of the suite named by ``@pytest.mark.modelguard(suite=...)``."""
    if not hasattr(request, "param"):
        pytest.fail("the `case` fixture needs @pytest.mark.modelguard(suite=...)", pytrace=False)
    value: Case = request.param
    return value


@pytest.fixture
def model(request: pytest.FixtureRequest) -> ModelClient:
    """The baseline or a candidate: ``model.complete(messages)`` is cached, costed and timed."""
    if not hasattr(request, "param"):
        pytest.fail("the `model` fixture needs @pytest.mark.modelguard", pytrace=False)
    mg = session_of(request.config)
    from .client import ModelClient

    the_case = request.getfixturevalue("case") if "case" in request.fixturenames else None
    client = ModelClient(mg.answers, mg.settings.model_named(request.param), the_case)
    if the_case is not None:
        answered = client.answer_for(the_case.messages)
        if answered.completion is None:
            pytest.fail(f"{client.name} on {the_case.id}: {answered.error}", pytrace=False)
    request.node.stash[CLIENT] = client
    return client


def prefetch_requests(items: list[pytest.Item]) -> list[Any]:
    """The (model, case) requests of Python tests, to answer with the suites' before any runs."""
    requests = []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "model" in params and "case" in params and item.get_closest_marker(MARKER):
            from .client import ModelClient

            mg = session_of(item.config)
            the_case: Case = params["case"]
            client = ModelClient(mg.answers, mg.settings.model_named(params["model"]), the_case)
            request = client.request(the_case.messages)
            if client.recorded(request) is None:
                requests.append(request)
                item.stash[READS] = (request.key(),)
    return requests


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    client = item.stash.get(CLIENT, None)
    if client is None:
        return (yield)
    from ..grading.decorator import recording

    grader = session_of(item.config).grader
    test = getattr(item, "originalname", item.name)
    case, spec, answered = client.case, client.spec, client.answered
    with recording() as grades:
        try:
            outcome = yield
        except BaseException as exc:
            failure = str(exc)[:200]
            result = grader.test_result(test, case, spec, answered, grades, False, failure)
            item.stash[RESULTS] = [result]
            raise
        item.stash[RESULTS] = [grader.test_result(test, case, spec, answered, grades, True, None)]
        return outcome


def requests_of(items: list[pytest.Item]) -> list[Any]:
    """The requests of these items: suite items' and Python tests' over cases."""
    requests = [r for item in items if isinstance(item, CaseItem) for r in item.requests]
    return requests + prefetch_requests(items)
