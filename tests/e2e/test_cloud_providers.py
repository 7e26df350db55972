"""Azure OpenAI, Amazon Bedrock, Vertex AI and Gemini against the loopback's cloud routes.

Each kind goes through its official SDK over real HTTP: Azure's deployment path with the
``api-key`` header, Bedrock's ``/model/{id}/invoke`` SigV4-signed from fake credentials
(the loopback checks the signature with botocore), Vertex's ``:rawPredict`` with a token
from application default credentials (a service account key whose token endpoint is the
loopback), Gemini's OpenAI-compatible endpoint with a Bearer key.
"""

from __future__ import annotations

import asyncio
import json
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import loopback_cloud as cloud
import pytest
from loopback import Call, Fault, LoopbackServer, Reply, fail_first

from pytest_modelguard.capture.import_checks import is_secret_field
from pytest_modelguard.capture.wrap import _secrets_of
from pytest_modelguard.config import (
    ConfigError,
    ModelSpec,
    Overrides,
    ProviderSpec,
    load_settings,
    read_pyproject,
)
from pytest_modelguard.core.safety import scrub_auth_fields
from pytest_modelguard.engine.providers import make_provider
from pytest_modelguard.grading.judging import judge_requests
from pytest_modelguard.grading.llm_judge import JudgeGrader
from pytest_modelguard.records.calls import Completion, ProviderError, Request, params_problem
from pytest_modelguard.records.grades import Answer
from pytest_modelguard.records.pricing import table_price

AZURE_KEY = "azure-loopback-key-0123456789"
GEMINI_KEY = "gemini-loopback-key-0123456789"
KINDS = ["azure-openai", "bedrock", "vertex", "gemini"]
MODELS = {
    "azure-openai": "my-gpt-4o",
    "bedrock": "anthropic.claude-sonnet-4-5-20250929-v1:0",
    "vertex": "claude-sonnet-4-5@20250929",
    "gemini": "gemini-2.5-flash",
}
PATHS = {
    "azure-openai": "/openai/deployments/my-gpt-4o/chat/completions?api-version=2024-10-21",
    "bedrock": "/model/anthropic.claude-sonnet-4-5-20250929-v1:0/invoke",
    "vertex": "/v1/projects/loopback-project/locations/us-east5/publishers/anthropic/models/"
    "claude-sonnet-4-5@20250929:rawPredict",
    "gemini": "/v1beta/openai/chat/completions",
}


@pytest.fixture(scope="module", autouse=True)
def _imported() -> None:
    """The clouds' auth libraries imported here, not first inside a pytester run (which
    drops the modules it imported)."""
    import boto3  # noqa: F401
    import botocore.auth  # noqa: F401
    import google.auth.transport.requests
    import google.oauth2.service_account  # noqa: F401
    from anthropic.lib import bedrock, vertex  # noqa: F401


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[LoopbackServer]:
    """The loopback, with every cloud's fake credentials in the environment."""
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_BEARER_TOKEN_BEDROCK",
        "AZURE_OPENAI_AD_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", cloud.AWS_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", cloud.AWS_SECRET_KEY)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", AZURE_KEY)
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    with LoopbackServer() as server:
        key = tmp_path / "adc.json"
        key.write_text(json.dumps(cloud.service_account_key(server.url + "/token")), "utf-8")
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
        yield server


def provider_for(kind: str, srv: LoopbackServer, **options: str) -> Any:
    defaults = {
        "azure-openai": {"azure_endpoint": srv.url, "api_version": "2024-10-21"},
        "bedrock": {"aws_region": "us-east-1"},
        "vertex": {"project_id": "loopback-project", "region": "us-east5"},
        "gemini": {},
    }
    urls = {"bedrock": srv.url, "vertex": f"{srv.url}/v1", "gemini": f"{srv.url}/v1beta/openai/"}
    return make_provider(
        kind, kind, urls.get(kind), None, timeout_s=5.0, options={**defaults[kind], **options}
    )


def request(kind: str, prompt: str = "hello") -> Request:
    return Request(kind, MODELS[kind], ({"role": "user", "content": prompt},), {})


def complete(provider: Any, req: Request) -> Completion:
    async def run() -> Completion:
        try:
            return await provider.complete(req)  # type: ignore[no-any-return]
        finally:
            await provider.aclose()

    return asyncio.run(run())


def error_of(provider: Any, req: Request) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        complete(provider, req)
    return info.value


def auth_of(kind: str, call: Call) -> str:
    """The credential a call carried, as its cloud sends it."""
    return call.headers.get("api-key") or call.headers.get("authorization", "")


@pytest.mark.parametrize("kind", KINDS)
def test_each_cloud_answers_on_its_path_with_its_auth(srv: LoopbackServer, kind: str) -> None:
    done = complete(provider_for(kind, srv), request(kind, "q1"))
    assert done.text == f"echo {MODELS[kind]}: q1" and done.usage.output_tokens > 0
    (call,) = srv.calls
    assert call.path == PATHS[kind] and call.model == MODELS[kind]
    auth = auth_of(kind, call)
    expected = {
        "azure-openai": AZURE_KEY,
        "bedrock": f"AWS4-HMAC-SHA256 Credential={cloud.AWS_ACCESS_KEY}/",
        "vertex": "Bearer ya29.loopback-",
        "gemini": f"Bearer {GEMINI_KEY}",
    }[kind]
    assert auth.startswith(expected), auth
    if kind == "bedrock":  # the loopback refuses a bad signature; check it did check
        assert cloud.sigv4_problem("POST", call.path, call.headers, b"{}") == "signature mismatch"


def test_bedrock_signed_with_the_wrong_secret_is_refused_naming_the_aws_chain(
    srv: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = tmp_path / "aws-credentials"
    credentials.write_text(
        f"[wrong]\naws_access_key_id = {cloud.AWS_ACCESS_KEY}\n"
        "aws_secret_access_key = not-the-loopback-secret-000\n",
        "utf-8",
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    error = error_of(provider_for("bedrock", srv, aws_profile="wrong"), request("bedrock"))
    assert error.status == 403 and not error.transient
    assert "signature mismatch" in str(error) and "AWS credentials" in str(error)
    assert "not-the-loopback-secret-000" not in str(error)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("status", "transient", "hint"),
    [(401, False, "check the"), (429, True, "rate limited"), (500, True, ""), (503, True, "")],
)
def test_cloud_status_errors_map_to_transient_or_permanent(
    srv: LoopbackServer, kind: str, status: int, transient: bool, hint: str
) -> None:
    srv.faults = fail_first(1, Fault.http(status, retry_after=0.5))
    error = error_of(provider_for(kind, srv), request(kind))
    assert error.status == status and error.transient is transient
    assert error.retry_after == 0.5 and hint in str(error)
    assert f"{kind}:{MODELS[kind]}: HTTP {status}" in str(error)


@pytest.mark.parametrize(
    ("kind", "credentials"),
    [
        ("azure-openai", "the key in AZURE_OPENAI_API_KEY or the Entra ID token"),
        ("bedrock", "the AWS credentials"),
        ("vertex", "the Google credentials (application default credentials"),
        ("gemini", "the API key in GEMINI_API_KEY"),
    ],
)
def test_a_401_names_what_authenticates_the_kind(
    srv: LoopbackServer, kind: str, credentials: str
) -> None:
    srv.faults = fail_first(1, Fault.http(401))
    assert f"check {credentials}" in str(error_of(provider_for(kind, srv), request(kind)))


@pytest.mark.parametrize("kind", KINDS)
def test_an_echoed_credential_is_scrubbed_from_the_answer(srv: LoopbackServer, kind: str) -> None:
    srv.responder = lambda call: Reply("you sent " + auth_of(kind, call))
    done = complete(provider_for(kind, srv), request(kind))
    secret = {"azure-openai": AZURE_KEY, "bedrock": cloud.AWS_ACCESS_KEY, "gemini": GEMINI_KEY}
    sent = auth_of(kind, srv.calls[0])
    token = secret.get(kind) or sent.removeprefix("Bearer ")
    assert token in sent and token not in done.text and "[redacted]" in done.text


def test_azure_entra_id_token_from_the_environment(
    srv: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_OPENAI_API_KEY")
    monkeypatch.setenv("MY_ENTRA_TOKEN", "entra-token-0123456789")
    complete(
        provider_for("azure-openai", srv, azure_ad_token_env="MY_ENTRA_TOKEN"),
        request("azure-openai"),
    )
    (call,) = srv.calls
    assert call.headers["authorization"] == "Bearer entra-token-0123456789"
    assert "api-key" not in call.headers


def test_azure_signs_in_with_azure_identity_when_installed(
    srv: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_OPENAI_API_KEY")
    scopes: list[str] = []

    def get_bearer_token_provider(credential: object, scope: str) -> Any:
        scopes.append(scope)
        return lambda: "token-from-default-azure-credential"

    identity = types.ModuleType("azure.identity")
    identity.DefaultAzureCredential = object  # type: ignore[attr-defined]
    identity.get_bearer_token_provider = get_bearer_token_provider  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "azure", types.ModuleType("azure"))
    monkeypatch.setitem(sys.modules, "azure.identity", identity)
    complete(provider_for("azure-openai", srv), request("azure-openai"))
    assert scopes == ["https://cognitiveservices.azure.com/.default"]
    assert srv.calls[0].headers["authorization"] == "Bearer token-from-default-azure-credential"


def test_azure_without_key_token_or_azure_identity_says_what_to_set(
    srv: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_OPENAI_API_KEY")
    monkeypatch.setitem(sys.modules, "azure.identity", None)  # not installed
    error = error_of(provider_for("azure-openai", srv), request("azure-openai"))
    assert not error.transient and srv.count() == 0
    for part in ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN", "install azure-identity"):
        assert part in str(error)


@pytest.mark.parametrize(
    ("kind", "unset", "blank", "message"),
    [
        ("bedrock", ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), "", "no AWS credentials found"),
        ("bedrock", ("AWS_REGION", "AWS_DEFAULT_REGION"), "aws_region", "no aws_region: set it"),
        ("azure-openai", ("AZURE_OPENAI_ENDPOINT",), "azure_endpoint", "no azure_endpoint: set it"),
        ("vertex", ("CLOUD_ML_REGION",), "region", "no region: set it under"),
        ("gemini", ("GEMINI_API_KEY",), "", "environment variable GEMINI_API_KEY is not set"),
    ],
)
def test_missing_credentials_or_settings_are_permanent_and_clear(
    srv: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    unset: tuple[str, ...],
    blank: str,
    message: str,
) -> None:
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    options = {blank: ""} if blank else {}
    error = error_of(provider_for(kind, srv, **options), request(kind))
    assert message in str(error) and not error.transient and srv.count() == 0


CONFIG = """\
[tool.modelguard]
baseline = "az:my-gpt-4o"
models = ["aws:anthropic.claude-sonnet-4-5-20250929-v1:0"]

[tool.modelguard.providers.az]
kind = "azure-openai"
{az}

[tool.modelguard.providers.aws]
kind = "bedrock"
{aws}
"""


def settings_of(
    tmp_path: Path,
    az: str = 'azure_endpoint = "https://r.openai.azure.com"\napi_version = "2024-10-21"',
    aws: str = 'aws_region = "eu-west-1"',
) -> Any:
    path = tmp_path / "pyproject.toml"
    path.write_text(CONFIG.format(az=az, aws=aws), "utf-8")
    return load_settings(str(path), read_pyproject(path), Overrides(), tmp_path)


@pytest.mark.parametrize(
    ("az", "aws", "where", "message"),
    [
        (
            'aws_region = "us-east-1"',
            "",
            "providers.az.aws_region",
            "is a setting of kind = 'bedrock', not 'azure-openai'",
        ),
        ('base_url = "https://x"', "", "providers.az.base_url", "set azure_endpoint"),
        ('azure_endpoint = "ftp://r"', "", "providers.az.azure_endpoint", "must be an http(s) URL"),
        (
            'api_version = "latest please"',
            "",
            "providers.az.api_version",
            "an Azure OpenAI API version",
        ),
        (
            "",
            'api_key_env = "K"',
            "providers.aws.api_key_env",
            "authenticates with the AWS credential chain",
        ),
        (
            "",
            'aws_region = "US_EAST"',
            "providers.aws.aws_region",
            "an AWS region such as us-east-1",
        ),
        ("", "aws_region = 1", "providers.aws.aws_region", "expected str, got 1"),
        ("", 'project_id = "p"', "providers.aws.project_id", "a setting of kind = 'vertex'"),
        ("", 'aws_regoin = "us-east-1"', "providers.aws.aws_regoin", "did you mean 'aws_region'"),
    ],
)
def test_bad_cloud_settings_name_file_line_and_key(
    tmp_path: Path, az: str, aws: str, where: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        settings_of(tmp_path, az=az, aws=aws)
    text = str(info.value)
    key = where.rsplit(".", 1)[1]
    line = next(
        n for n, t in enumerate(CONFIG.format(az=az, aws=aws).splitlines(), 1) if t.startswith(key)
    )
    assert (
        text.startswith(f"{tmp_path / 'pyproject.toml'}:{line}: ")
        and where in text
        and message in text
    ), text


def test_cloud_settings_reach_the_provider_and_prices_come_from_the_cloud(tmp_path: Path) -> None:
    settings = settings_of(tmp_path)
    az, aws = settings.baseline, settings.candidates[0]
    assert dict(az.provider.options) == {
        "azure_endpoint": "https://r.openai.azure.com",
        "api_version": "2024-10-21",
    }
    assert az.provider.api_key_env == "AZURE_OPENAI_API_KEY"
    assert (
        dict(aws.provider.options) == {"aws_region": "eu-west-1"}
        and aws.provider.api_key_env is None
    )
    assert aws.price == table_price("aws", aws.model) is not None
    assert az.price is None  # a deployment's own name: give it an alias's price
    for name, price_id in [
        ("gemini:gemini-2.5-flash", "google"),
        ("vertex:claude-sonnet-4-5@20250929", "google"),
        ("azure-openai:gpt-4o", "azure"),
    ]:
        spec = settings.resolve(name)
        assert spec.price == table_price(price_id, spec.model) is not None, name


PROJECT = """\
[tool.modelguard]
baseline = "az:my-gpt-4o"
models = ["aws:anthropic.claude-sonnet-4-5-20250929-v1:0", "gcp:claude-sonnet-4-5@20250929",
          "gem:gemini-2.5-flash"]
max_attempts = 4
retry_delay_s = 0.001
resamples = 200

[tool.modelguard.providers.az]
kind = "azure-openai"
azure_endpoint = "{url}"
api_version = "2024-10-21"

[tool.modelguard.providers.aws]
kind = "bedrock"
aws_region = "us-east-1"
base_url = "{url}"

[tool.modelguard.providers.gcp]
kind = "vertex"
project_id = "loopback-project"
region = "us-east5"
base_url = "{url}/v1"

[tool.modelguard.providers.gem]
kind = "gemini"
base_url = "{url}/v1beta/openai/"
"""
SUITE = "suite: clouds\ndefaults:\n  graders: [equals]\ncases:\n" + "".join(
    f"  - {{id: c{i}, prompt: 'say w{i}', expected: w{i}}}\n" for i in range(3)
)


def test_a_suite_runs_on_every_cloud_through_429_and_503(
    pytester: pytest.Pytester, srv: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makefile(".toml", pyproject=PROJECT.format(url=srv.url))
    pytester.makefile(".modelguard.yaml", clouds=SUITE)
    srv.responder = lambda call: call.prompt.split()[-1]
    srv.faults = lambda call, n: (
        (Fault.http(429, retry_after=0.01), Fault.http(503))[n] if n < 2 else None
    )
    reports = ("--modelguard-json=r.json", "--modelguard-markdown=r.md", "--modelguard-html=r.html")
    result = pytester.runpytest("--modelguard-record", "once", *reports, "--junitxml=junit.xml")
    result.assert_outcomes(passed=12 + 3)  # + a gate result per candidate
    result.stdout.fnmatch_lines(["*12/12 answers (0 cached, 12 new, 0 failed)*"])
    report = json.loads((pytester.path / "r.json").read_text("utf-8"))
    assert len(report["cases"]) == 12
    assert all(c["error"] is None and c["passed"] for c in report["cases"]), report["cases"]
    by_kind = {kind: [c for c in srv.calls if c.model == MODELS[kind]] for kind in KINDS}
    for kind, calls in by_kind.items():
        assert len(calls) == 9, kind  # 3 cases x (429, 503, answered)
        assert {c.path for c in calls} == {PATHS[kind]}
    assert {c.headers["api-key"] for c in by_kind["azure-openai"]} == {AZURE_KEY}
    assert all(
        c.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
        for c in by_kind["bedrock"]
    )
    for name in (
        "AZURE_OPENAI_API_KEY",
        "AWS_ACCESS_KEY_ID",
        "GEMINI_API_KEY",
        "GOOGLE_APPLICATION_CREDENTIALS",
    ):
        monkeypatch.delenv(name)
    again = pytester.runpytest("--modelguard-record", "none")
    again.assert_outcomes(passed=12 + 3)
    secrets = [AZURE_KEY, GEMINI_KEY, cloud.AWS_ACCESS_KEY, cloud.AWS_SECRET_KEY, "ya29."]
    written = [p for p in pytester.path.rglob("*") if p.is_file()]
    assert len(written) > 12 and {"r.json", "r.md", "r.html", "junit.xml"} <= {
        p.name for p in written
    }
    for text in [p.read_bytes().decode("utf-8", "replace") for p in written] + [
        result.stdout.str()
    ]:
        assert not [s for s in secrets if s in text]
    assert len(srv.calls) == 36  # replayed from the cache: no call, no credential needed


def test_builtin_cloud_providers_need_no_table(tmp_path: Path) -> None:
    settings = settings_of(tmp_path)
    gemini = settings.resolve("gemini:gemini-2.5-flash").provider
    built = make_provider(gemini.kind, gemini.name, gemini.base_url, gemini.api_key_env)
    assert built.base_url == "https://generativelanguage.googleapis.com/v1beta/openai/"  # type: ignore[attr-defined]
    assert built.api_key_env == "GEMINI_API_KEY"  # type: ignore[attr-defined]
    bedrock = settings.resolve("bedrock:anthropic.claude-haiku-4-5-20251001-v1:0").provider
    assert (bedrock.kind, bedrock.api_key_env, dict(bedrock.options)) == ("bedrock", None, {})


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("x-amz-security-token: IQoJb3JpZ2luX2VjEJr//wEaCXVz", "IQoJb3JpZ2luX2VjEJr"),
        ('{"aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG"}', "wJalrXUtnFEMI"),
        ("aws_session_token=FwoGZXIvYXdzEJr", "FwoGZXIvYXdzEJr"),
        (f"signed by {cloud.AWS_ACCESS_KEY}/20261207/us-east-1", cloud.AWS_ACCESS_KEY),
        ("bad key AIza" + "x0-_" * 8 + "abc for project", "x0-_x0-_"),
        ("token ya29.a0AfB_byC-loopback-token.0", "a0AfB_byC"),
        ("api-key: 0123456789abcdef", "0123456789abcdef"),
    ],
)
def test_cloud_credentials_are_scrubbed_from_provider_errors(text: str, secret: str) -> None:
    assert secret not in scrub_auth_fields(text) and "[redacted]" in scrub_auth_fields(text)


def test_captured_and_imported_cloud_credentials_are_known_as_secrets() -> None:
    import anthropic

    client = anthropic.AnthropicBedrock(
        aws_access_key=cloud.AWS_ACCESS_KEY,
        aws_secret_key=cloud.AWS_SECRET_KEY,
        aws_session_token="session-token-0123456789",
        aws_region="us-east-1",
    )
    assert {cloud.AWS_SECRET_KEY, "session-token-0123456789"} <= set(_secrets_of(client))
    for field in (
        "aws_secret_access_key",
        "aws_session_token",
        "http.request.header.x-amz-security-token",
    ):
        assert is_secret_field(field), field
    for field in (
        "aws_secret_access_key",
        "x-amz-security-token",
        "azure_ad_token",
        "x-goog-api-key",
    ):
        problem = params_problem({"extra_headers": {field: "value-of-a-credential"}})
        assert problem is not None and "credential" in problem[1], field


def test_gemini_only_fields_ride_in_extra_body(srv: LoopbackServer) -> None:
    thinking = {"google": {"thinking_config": {"thinking_budget": 0}}}
    req = Request(
        "gemini", MODELS["gemini"], ({"role": "user", "content": "hi"},), {"extra_body": thinking}
    )
    assert params_problem(req.params) is None
    complete(provider_for("gemini", srv), req)
    assert srv.calls[0].params == thinking


@pytest.mark.parametrize("broken", ["no file", "refused"])
def test_vertex_without_usable_credentials_is_permanent_and_names_adc(
    srv: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    key = tmp_path / "refused.json"
    key.write_text(json.dumps(cloud.service_account_key(srv.url + "/refuse")), "utf-8")
    monkeypatch.setenv(
        "GOOGLE_APPLICATION_CREDENTIALS",
        str(tmp_path / "none.json" if broken == "no file" else key),
    )
    error = error_of(provider_for("vertex", srv), request("vertex"))
    assert not error.transient and "application default credentials" in str(error), error
    assert srv.count() == 0


@pytest.mark.parametrize("env", ["AWS_REGION", "AWS_DEFAULT_REGION"])
def test_bedrock_takes_its_region_from_the_environment(
    srv: LoopbackServer, monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(env, "eu-west-3")
    complete(provider_for("bedrock", srv, aws_region=""), request("bedrock"))
    assert "/eu-west-3/bedrock/aws4_request" in srv.calls[0].headers["authorization"]


@pytest.mark.parametrize("model", ["bedrock:anthropic.claude-x-v1:0", "vertex:claude-x@1"])
def test_json_object_for_claude_on_a_cloud_fails_collection(
    pytester: pytest.Pytester, model: str
) -> None:
    pytester.makefile(".toml", pyproject=f'[tool.modelguard]\nbaseline = "{model}"\nmodels = []\n')
    pytester.makefile(
        ".modelguard.yaml",
        fmt="cases:\n  - id: a\n    prompt: hi\n    graders: [json_valid]\n"
        "    response_format: {type: json_object}\n",
    )
    result = pytester.runpytest("--collect-only")
    result.stdout.fnmatch_lines(
        ["*fmt.modelguard.yaml:2: case 'a': response_format: *json_object* has no Anthropic*"]
    )
    assert result.ret != pytest.ExitCode.OK


@pytest.mark.parametrize(
    ("kind", "seeded"), [("azure-openai", True), ("bedrock", False), ("vertex", False)]
)
def test_an_azure_judge_gets_a_seed_per_repeat_as_openai_does(kind: str, seeded: bool) -> None:
    spec = ModelSpec("judge", ProviderSpec(kind, kind), MODELS[kind])
    requests = judge_requests(JudgeGrader(rubric="Polite?", repeats=2), spec, Answer("hi"), ())
    seeds = [{"seed": s} if seeded else {} for s in (0, 1)]
    assert [r.params for r in requests] == [{"temperature": 0, **seed} for seed in seeds]
