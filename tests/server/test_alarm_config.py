"""The resource alarms' configuration: rabbitmq.conf's keys with RabbitMQ 3.10's information
units, the limits computed from it, and the ``Alarms`` state's transitions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from amqpbroker.config import BrokerConfig
from amqpbroker.core.alarms import Alarms
from amqpbroker.rabbitmq_conf.alarm_keys import information_unit
from amqpbroker.rabbitmq_conf.reader import ConfigFileError, load_config
from amqpbroker.server import alarm_monitor
from amqpbroker.server.alarm_monitor import disk_free_limit, memory_limit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1024", 1024),
        ("200MB", 200_000_000),
        ("200MiB", 200 * 2**20),
        ("200M", 200 * 2**20),
        ("200m", 200 * 2**20),
        ("2GB", 2_000_000_000),
        ("2GiB", 2 * 2**30),
        ("2G", 2 * 2**30),
        ("50kB", 50_000),
        ("50KB", 50_000),
        ("50k", 50 * 1024),
        ("50KiB", 50 * 1024),
        ("50kib", 50 * 1024),
        ("3Gb", 3_000_000_000),
        ("0", 0),
    ],
)
def test_information_units_as_rabbitmq_3_10(text: str, expected: int) -> None:
    assert information_unit(text) == expected


@pytest.mark.parametrize("text", ["", "MB", "1.5GB", "-1", "10 MB", "10TB", "10gB", "10mB", "x"])
def test_information_units_refused(text: str) -> None:
    with pytest.raises(ValueError):
        information_unit(text)


def _conf(tmp_path: Path, text: str) -> BrokerConfig:
    path = tmp_path / "rabbitmq.conf"
    path.write_text(text)
    return load_config(path)


def test_defaults_are_rabbitmqs() -> None:
    config = BrokerConfig()
    assert config.vm_memory_high_watermark == 0.4
    assert config.vm_memory_high_watermark_absolute is None
    assert config.disk_free_limit == 50_000_000
    assert config.memory_monitor_interval == 2.5


def test_conf_keys(tmp_path: Path) -> None:
    config = _conf(
        tmp_path,
        "vm_memory_high_watermark.absolute = 200MB\n"
        "disk_free_limit.absolute = 1GiB\n"
        "memory_monitor_interval = 500\n",
    )
    assert config.vm_memory_high_watermark_absolute == 200_000_000
    assert config.disk_free_limit == 2**30
    assert config.disk_free_limit_relative is None
    assert config.memory_monitor_interval == 0.5


def test_relative_memory_watermark_wins_over_absolute_either_order(tmp_path: Path) -> None:
    for text in (
        "vm_memory_high_watermark.relative = 0.6\nvm_memory_high_watermark.absolute = 1GB\n",
        "vm_memory_high_watermark.absolute = 1GB\nvm_memory_high_watermark.relative = 0.6\n",
    ):
        config = _conf(tmp_path, text)
        assert config.vm_memory_high_watermark == 0.6
        assert config.vm_memory_high_watermark_absolute is None


def test_relative_disk_limit(tmp_path: Path) -> None:
    config = _conf(tmp_path, "disk_free_limit.relative = 1.5\n")
    assert config.disk_free_limit_relative == 1.5
    assert disk_free_limit(config, 1000) == 1500
    assert disk_free_limit(BrokerConfig(), 1000) == 50_000_000


@pytest.mark.parametrize(
    "line",
    [
        "vm_memory_high_watermark.absolute = 200XB",
        "vm_memory_high_watermark.relative = lots",
        "vm_memory_high_watermark.relative = -0.1",
        "disk_free_limit.absolute = 1.5GB",
        "memory_monitor_interval = 0",
    ],
)
def test_bad_values_name_the_line(tmp_path: Path, line: str) -> None:
    with pytest.raises(ConfigFileError, match=r"rabbitmq.conf:1: invalid value for"):
        _conf(tmp_path, line + "\n")


def test_memory_limit_relative_and_absolute_capped_at_total() -> None:
    total = 10_000_000_000
    assert memory_limit(BrokerConfig(), total) == 4_000_000_000
    assert memory_limit(BrokerConfig(vm_memory_high_watermark=0.5), total) == 5_000_000_000
    absolute = BrokerConfig(vm_memory_high_watermark_absolute=2_000_000_000)
    assert memory_limit(absolute, total) == 2_000_000_000
    too_much = BrokerConfig(vm_memory_high_watermark_absolute=20_000_000_000)
    assert memory_limit(too_much, total) == total


def test_alarms_transitions_and_reason() -> None:
    alarms = Alarms(mem_limit=100, disk_free_limit=50)
    assert alarms.update_memory(100) is None  # at the mark is not over it
    assert alarms.blocked_reason is None
    assert alarms.update_memory(101) is True
    assert alarms.update_memory(150) is None
    assert alarms.blocked_reason == "low on memory"
    assert alarms.update_disk(49) is True
    assert alarms.resources == ("memory", "disk")
    assert alarms.update_memory(99) is False
    assert alarms.blocked_reason == "low on disk"
    assert alarms.update_disk(50) is False
    assert (alarms.mem_used, alarms.disk_free, alarms.resources) == (99, 50, ())


def test_total_memory_is_the_cgroup_limit_when_smaller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    limit = tmp_path / "memory.max"
    monkeypatch.setattr(alarm_monitor, "_CGROUP_LIMITS", (str(limit),))
    limit.write_text("max\n")  # no limit
    assert alarm_monitor.total_memory() == machine
    limit.write_text(f"{machine // 4}\n")
    assert alarm_monitor.total_memory() == machine // 4
    limit.write_text(f"{machine * 2}\n")  # a limit above the machine changes nothing
    assert alarm_monitor.total_memory() == machine


def test_the_conf_example_reads() -> None:
    example = Path(__file__).resolve().parents[2] / "conf" / "alarms.conf"
    config = load_config(example)
    assert config.vm_memory_high_watermark == 0.4
    assert config.vm_memory_high_watermark_absolute is None
    assert config.disk_free_limit == 50_000_000
    assert config.memory_monitor_interval == 2.5
