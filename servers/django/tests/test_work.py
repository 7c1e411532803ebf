import pytest

from refcommon import work


@pytest.mark.parametrize(
    "raw, want",
    [(None, 30), ("40", 40), ("0", 0), ("-0", 0), ("007", 7)],
)
def test_int_param_accepts(raw, want):
    assert work.int_param(raw, "n", 30, 40) == want


@pytest.mark.parametrize(
    "raw, message",
    [
        ("", "n must be an integer"),
        ("abc", "n must be an integer"),
        ("1.5", "n must be an integer"),
        ("+5", "n must be an integer"),
        (" 5", "n must be an integer"),
        ("1e3", "n must be an integer"),
        ("-", "n must be an integer"),
        ("5_0", "n must be an integer"),
        ("\u0665", "n must be an integer"),  # a non-ASCII digit
        ("-1", "n must not be negative"),
        ("-99999999999999999999999", "n must not be negative"),
        ("41", "n must be at most 40"),
        ("99999999999999999999999", "n must be at most 40"),
    ],
)
def test_int_param_rejects(raw, message):
    with pytest.raises(work.BadParam, match=f"^{message}$"):
        work.int_param(raw, "n", 30, 40)


@pytest.mark.parametrize("n, want", [(0, 0), (1, 0), (2, 1), (10, 4), (1000, 168), (50_000, 5133)])
def test_count_primes(n, want):
    assert work.count_primes(n) == want


def test_fib():
    assert [work.fib(n) for n in (0, 1, 2, 10, 25)] == [0, 1, 1, 55, 75025]


def test_hash_rounds():
    assert work.hash_rounds(0) == "706f646d65746572"
    assert work.hash_rounds(1) == "872ab7218062ce81f4c2e32ab0001feb6ca5bacdfa4890efbdbe32b63c62219c"
    assert work.hash_rounds(100) == "48b7ea6cf032b27fa89f25799ef806d355600794dfff36c80f3c102ac5d66fb4"


def test_payload():
    assert work.payload(0) == []
    assert work.payload(3)[2] == {"id": 2, "name": "item-2", "value": 5831, "tags": ["tag-2", "group-2"]}


def test_machine_id():
    assert work.machine_id(None) == 0
    assert work.machine_id("1023") == 1023
    for bad in ("1024", "-1", "x"):
        with pytest.raises(ValueError):
            work.machine_id(bad)


def test_snowflake_unique_and_increasing():
    ids = work.Snowflake(5)
    now = work.SNOWFLAKE_EPOCH_MS + 1000
    prev = ids.next(now)
    assert prev == 1000 << 22 | 5 << 12
    for _ in range(10_000):  # same millisecond: sequence, then borrowing
        current = ids.next(now)
        assert current > prev
        prev = current
    assert ids.next(now - 500) > prev  # clock going back
