"""OutputBuffer: one flush request per tick, the early write and the high-water mark."""

from __future__ import annotations

from amqpbroker.session.output import OUTPUT_EARLY_WRITE, OUTPUT_HIGH_WATER, OutputBuffer


class Transport:
    """Counts what the buffer asks of its transport; an early write takes the output."""

    def __init__(self) -> None:
        self.flush_requests = 0
        self.early: list[bytes] = []
        self.buffer = OutputBuffer(self.request_flush, self.write_now)

    def request_flush(self) -> None:
        self.flush_requests += 1

    def write_now(self) -> None:
        self.early.append(self.buffer.take())


def test_an_empty_buffer_gives_nothing_and_frees_no_one() -> None:
    assert OutputBuffer().take_tick() == (b"", False)


def test_writes_come_out_joined_in_order_and_the_buffer_empties() -> None:
    out = OutputBuffer()
    out.write(b"ab")
    out.write(b"cd")
    assert out.size == 4
    assert out.take_tick() == (b"abcd", False)
    assert out.size == 0
    assert out.take() == b""


def test_only_the_first_write_into_an_empty_buffer_asks_for_a_flush() -> None:
    transport = Transport()
    transport.buffer.write(b"a")
    transport.buffer.write(b"b")
    assert transport.flush_requests == 1
    transport.buffer.take_tick()
    transport.buffer.write(b"c")
    assert transport.flush_requests == 2


def test_output_past_the_early_write_mark_is_taken_at_once() -> None:
    transport = Transport()
    chunk = b"x" * (OUTPUT_EARLY_WRITE // 4)
    for _ in range(3):
        transport.buffer.write(chunk)
    assert transport.early == []
    transport.buffer.write(chunk)
    assert transport.early == [chunk * 4]
    assert transport.buffer.size == 0


def test_one_write_bigger_than_the_mark_goes_out_alone() -> None:
    transport = Transport()
    big = b"y" * (OUTPUT_EARLY_WRITE + 1)
    transport.buffer.write(big)
    assert transport.early == [big]


def test_writable_until_the_high_water_mark() -> None:
    out = OutputBuffer()  # no early write: the tick's output piles up
    out.write(b"z" * (OUTPUT_HIGH_WATER - 1))
    assert out.writable
    out.write(b"z")
    assert not out.writable


def test_a_tick_over_the_mark_frees_the_deliveries_it_held_back() -> None:
    out = OutputBuffer()
    out.write(b"z" * OUTPUT_HIGH_WATER)
    data, resume = out.take_tick()
    assert len(data) == OUTPUT_HIGH_WATER
    assert resume
    assert out.writable


def test_a_tick_under_the_mark_frees_no_one() -> None:
    out = OutputBuffer()
    out.write(b"z" * (OUTPUT_HIGH_WATER - 1))
    assert out.take_tick()[1] is False


def test_a_paused_socket_is_not_writable_and_its_tick_frees_no_one() -> None:
    out = OutputBuffer()
    out.paused = True
    assert not out.writable
    out.write(b"z" * OUTPUT_HIGH_WATER)
    assert out.take_tick()[1] is False  # the socket's drain will (set_writable)
    out.paused = False
    assert out.writable
