"""The kept guarded views: found again for the same rendered view, worked out again for another,
bounded in bytes."""

from __future__ import annotations

from c360.serve.guarded_views import GuardedViews


def _guard(body: bytes) -> tuple[bytes, list[str]]:
    return body, ["email"]


def test_a_guarded_view_is_kept_for_the_same_rendered_view_only() -> None:
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
    # Another rendered view, another role, or a change of consent: worked out again.
    assert views.get("sales", "C-1", False, b'{"v": 2}', guard(b"two"))[0] == b"two"
    assert views.get("support", "C-1", False, b'{"v": 2}', guard(b"three"))[0] == b"three"
    assert views.get("sales", "C-1", True, b'{"v": 2}', guard(b"four"))[0] == b"four"
    assert made == [b"one", b"two", b"three", b"four"]
    assert len(views) == 3  # the first view of (sales, C-1, False) was replaced
    views.clear()
    assert len(views) == 0


def test_the_least_recently_read_go_first_beyond_the_bound() -> None:
    views = GuardedViews(max_bytes=25)
    for n in range(5):
        views.get("sales", f"C-{n}", False, b"rendered", lambda: (b"0123456789", []))
    assert len(views) == 2  # 20 bytes kept, the three oldest gone
    kept = views.get("sales", "C-3", False, b"rendered", lambda: (b"other", []))
    assert kept == (b"0123456789", (), True)  # C-3 read again: C-4 is now the older
    views.get("sales", "C-5", False, b"rendered", lambda: (b"0123456789", []))
    assert views.get("sales", "C-3", False, b"rendered", lambda: (b"x", []))[2] is True
    assert views.get("sales", "C-4", False, b"rendered", lambda: (b"x", []))[2] is False
