"""Captured images, audio and files: kept content-addressed beside the trace DB (never in
its rows), exported as files next to the suite, imported from OTel GenAI spans."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from loopback import LoopbackServer, Reply
from loopback_media import png

from pytest_modelguard.capture import TraceStore, capture
from pytest_modelguard.capture import media as capture_media
from pytest_modelguard.capture.export import ExportOptions, export_suite
from pytest_modelguard.capture.media import keep_parts, media_dir
from pytest_modelguard.suite import load_suite

KEY = "sk-test-capture-media-0123456789"
IMAGE = png(12, 7, seed=3)
SHA = hashlib.sha256(IMAGE).hexdigest()
B64 = base64.b64encode(IMAGE).decode()
PNG_URL = f"data:image/png;base64,{B64}"
KEPT = {"type": "image", "media_type": "image/png", "sha256": SHA}
NOT_URL = {"type": "image", "omitted": "not an https URL or inline bytes"}


@pytest.fixture(scope="module")
def srv() -> Iterator[LoopbackServer]:
    with LoopbackServer(lambda call: Reply(f"{len(call.media)} image(s)")) as server:
        yield server


def rows(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT messages FROM traces")]


def ask_openai(srv: LoopbackServer, db: Path) -> None:
    store = TraceStore(db)
    client = capture(openai.OpenAI(base_url=srv.openai_base_url, api_key=KEY), db=store)
    content = [{"type": "text", "text": "total?"},
               {"type": "image_url", "image_url": {"url": PNG_URL}}]  # fmt: skip
    client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": content}])
    store.close()


def test_a_captured_image_is_stored_by_digest_beside_the_db(
    srv: LoopbackServer, tmp_path: Path
) -> None:
    db = tmp_path / "traces.db"
    ask_openai(srv, db)
    store = TraceStore(db)
    client = capture(anthropic.Anthropic(base_url=srv.anthropic_base_url, api_key=KEY), db=store)
    block = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": B64}}
    client.messages.create(model="claude-haiku-4-5", max_tokens=20,
                           messages=[{"role": "user", "content": [block]}])  # fmt: skip
    store.close()
    stored = [json.loads(text)[0]["content"] for text in rows(db)]
    assert stored[0][1] == {"type": "image", "media_type": "image/png", "sha256": SHA}
    assert stored[1] == [{"type": "image", "media_type": "image/png", "sha256": SHA}]
    assert (media_dir(db) / SHA[:2] / SHA).read_bytes() == IMAGE  # written once for both
    assert B64[:40].encode() not in db.read_bytes()


def test_export_writes_the_image_next_to_the_suite_and_refers_to_it_by_path(
    srv: LoopbackServer, tmp_path: Path
) -> None:
    db = tmp_path / "traces.db"
    ask_openai(srv, db)
    out = tmp_path / "suites" / "prod.modelguard.yaml"
    done = export_suite(db, out, ExportOptions())
    assert done.cases == 1
    case = load_suite(out).cases[0]
    part = case.messages[0]["content"][1]
    assert part["path"] == f"prod.media/{SHA[:16]}.png" and part["sha256"] == SHA
    assert (out.parent / part["path"]).read_bytes() == IMAGE
    assert "path: prod.media/" in out.read_text()


def test_an_image_whose_bytes_are_gone_is_left_out_with_the_reason(
    srv: LoopbackServer, tmp_path: Path
) -> None:
    db = tmp_path / "traces.db"
    ask_openai(srv, db)
    (media_dir(db) / SHA[:2] / SHA).write_bytes(IMAGE + b"tampered")
    with pytest.raises(Exception, match="no exportable calls"):
        export_suite(db, tmp_path / "s.modelguard.yaml", ExportOptions())
    (media_dir(db) / SHA[:2] / SHA).unlink()
    with pytest.raises(Exception, match="no exportable calls"):
        export_suite(db, tmp_path / "s.modelguard.yaml", ExportOptions())


def part(url: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        (PNG_URL, KEPT),
        ("https://example.com/r.png", {"type": "image", "url": "https://example.com/r.png"}),
        ("http://example.com/r.png", NOT_URL),
        ("file:///etc/passwd", NOT_URL),
        ("data:image/png;base64,!!!", {"type": "image", "omitted": "not valid base64"}),
        ("data:image/png;base64," + base64.b64encode(b"%PDF-1.4 x").decode(),
         {"type": "image", "omitted": "not an image type modelguard knows"}),
        ("data:image/png;base64," + base64.b64encode(IMAGE + KEY.encode()).decode(),
         {"type": "image", "omitted": "its bytes contain a secret of the capture"}),
    ],
)  # fmt: skip
def test_hostile_parts_are_kept_as_a_digest_a_url_or_a_reason(
    tmp_path: Path, url: str, kept: dict[str, Any]
) -> None:
    (message,) = keep_parts(part(url), tmp_path, (KEY,))
    assert message["content"] == [kept]
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written == ([tmp_path / SHA[:2] / SHA] if "sha256" in kept else [])


def test_a_part_over_the_size_limit_is_never_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(capture_media, "MAX_MEDIA_BYTES", len(IMAGE) - 1)
    (message,) = keep_parts(part(f"data:image/png;base64,{B64}"), tmp_path, ())
    assert message["content"] == [{"type": "image", "omitted": "over 0 MB"}]


def test_otel_genai_image_parts_are_imported(tmp_path: Path) -> None:
    from pytest_modelguard.capture.importing import import_files

    parts = [{"type": "text", "content": "total?"},
             {"type": "blob", "modality": "image", "mime_type": "image/png", "content": B64},
             {"type": "uri", "modality": "image", "uri": "https://example.com/r.png"}]  # fmt: skip
    answer = [{"role": "assistant", "parts": [{"type": "text", "content": "12.50"}]}]
    attrs = {
        "gen_ai.operation.name": "chat", "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4.1",
        "gen_ai.input.messages": json.dumps([{"role": "user", "parts": parts}]),
        "gen_ai.output.messages": json.dumps(answer),
    }  # fmt: skip
    span = {
        "name": "chat", "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000000500000000",
        "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attrs.items()],
    }  # fmt: skip
    document = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    (tmp_path / "spans.json").write_text(json.dumps(document))
    db = tmp_path / "t.db"
    assert import_files([tmp_path / "spans.json"], db).imported == 1
    (content,) = [json.loads(text)[0]["content"] for text in rows(db)]
    assert content == [
        {"type": "text", "text": "total?"},
        {"type": "image", "media_type": "image/png", "sha256": SHA},
        {"type": "image", "url": "https://example.com/r.png"},
    ]
    assert (media_dir(db) / SHA[:2] / SHA).read_bytes() == IMAGE
    done = export_suite(db, tmp_path / "s.modelguard.yaml", ExportOptions())
    assert done.cases == 1
