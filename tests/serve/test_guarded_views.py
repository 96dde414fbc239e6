"""The kept guarded views: found again for the same version of a view, worked out again for
another, bounded in bytes; a view's version changes with its bytes and with its visits' age."""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

from c360.serve.guarded_views import GuardedViews
from c360.serve.read_model import ReadModel
from c360.serve.view_codec import ViewCodec


def _guard(body: bytes) -> tuple[bytes, list[str]]:
    return body, ["email"]


def test_a_guarded_view_is_kept_for_the_same_version_only() -> None:
    views = GuardedViews()
    made: list[bytes] = []

    def guard(body: bytes):  # type: ignore[no-untyped-def]
        def work() -> tuple[bytes, list[str]]:
            made.append(body)
            return _guard(body)

        return work

    assert views.get("sales", "C-1", False, b'{"v": 1}', guard(b"one")) == (
        b"one",
        ("email",),
        False,
    )
    assert views.get("sales", "C-1", False, b'{"v": 1}', guard(b"x"))[:2] == (b"one", ("email",))
    assert views.get("sales", "C-1", False, b'{"v": 1}', guard(b"x"))[2] is True
    # Another version, another role, or a change of consent: worked out again.
    assert views.get("sales", "C-1", False, b'{"v": 2}', guard(b"two"))[0] == b"two"
    assert views.get("support", "C-1", False, b'{"v": 2}', guard(b"three"))[0] == b"three"
    assert views.get("sales", "C-1", True, b'{"v": 2}', guard(b"four"))[0] == b"four"
    assert made == [b"one", b"two", b"three", b"four"]
    assert len(views) == 3  # the first view of (sales, C-1, False) was replaced
    views.clear()
    assert len(views) == 0


def test_the_longest_kept_go_first_beyond_the_bound() -> None:
    views = GuardedViews(max_bytes=25)
    for n in range(5):
        views.get("sales", f"C-{n}", False, b"rendered", lambda: (b"0123456789", []))
    assert len(views) == 2  # 20 bytes kept, the three oldest gone
    kept = views.get("sales", "C-3", False, b"rendered", lambda: (b"other", []))
    assert kept == (b"0123456789", (), True)
    views.get("sales", "C-5", False, b"rendered", lambda: (b"abcdefghij", []))
    assert views.get("sales", "C-3", False, b"rendered", lambda: (b"x", []))[2] is False
    assert views.get("sales", "C-5", False, b"rendered", lambda: (b"x", []))[:2] == (
        b"abcdefghij", ())  # fmt: skip
    assert views.get("sales", "C-0", False, b"rendered", lambda: (b"y" * 26, []))[0] == b"y" * 26
    assert views.get("sales", "C-0", False, b"rendered", lambda: (b"z", []))[0] == b"z"  # not kept


def test_what_is_kept_is_what_was_guarded_last_however_the_ring_turns() -> None:
    rng = random.Random(7)
    views = GuardedViews(max_bytes=4096)
    last: dict[tuple[str, int], tuple[int, bytes]] = {}
    hits = 0
    for n in range(20_000):
        customer, version = f"C-{rng.randrange(300)}", rng.randrange(3)
        body = f"{customer}/{version}/{n}/".encode() * rng.randrange(1, 40)
        got, fields, kept = views.get("sales", customer, False, version,
                                      lambda body=body: (body, ["email"]))  # type: ignore[misc]  # fmt: skip
        if kept:
            hits += 1
            assert last[("sales", int(customer[2:]))] == (version, got)
        else:
            assert got == body
            last[("sales", int(customer[2:]))] = (version, body)
        assert fields == ("email",)
    assert hits > 100 and 0 < len(views) < 300
    views.clear()
    assert len(views) == 0
    assert views.get("sales", "C-1", False, 0, lambda: (b"again", []))[2] is False


def test_a_views_version_follows_its_bytes_and_its_visits_age(tmp_path: Path) -> None:
    model = ReadModel(tmp_path)
    codec = model._codec = ViewCodec(None)  # a file without a dictionary
    doc = b'{"customer_id": "C-1", "insights": {"web_visits_30d": 0}}'
    stored = (codec.pack(doc), '["2026-11-01T10:00:00", "2026-11-20T10:00:00"]')
    early, late = datetime(2026, 11, 25), datetime(2026, 12, 10)
    # The same kept view and the same visits counted: one version, without rendering it.
    assert ReadModel.version(stored, early) == ReadModel.version((stored[0], stored[1]), early)
    assert b'"web_visits_30d": 2' in model.render(stored, early)
    # A visit aged out: another version, as the rendered view differs.
    assert ReadModel.version(stored, late) != ReadModel.version(stored, early)
    assert b'"web_visits_30d": 1' in model.render(stored, late)
    # Other bytes: another version; no visits: the version does not depend on the day.
    other = (codec.pack(doc.replace(b"C-1", b"C-2")), stored[1])
    assert ReadModel.version(other, early) != ReadModel.version(stored, early)
    plain = (stored[0], None)
    assert ReadModel.version(plain, early) == ReadModel.version(plain, late)
    assert model.render(plain) == doc
