"""Store configuration from the environment and the bug-zoo switch reader."""

from __future__ import annotations

import pytest

from controlplane import bugs
from controlplane.kvstore.config import ConfigError, EngineKind, load_config

PEERS = "store-1=10.0.0.2:2380,store-2=10.0.0.3:2380,store-3=10.0.0.4:2380"


def test_defaults_follow_the_container_contract() -> None:
    cfg = load_config({"KV_ID": "store-2", "KV_PEERS": PEERS})
    assert cfg.engine is EngineKind.PYSYNCOBJ
    assert (cfg.data_dir, cfg.http_port, cfg.raft_port) == ("/data", 2379, 2380)
    assert cfg.self_address == "10.0.0.3:2380"
    assert cfg.other_addresses == ("10.0.0.2:2380", "10.0.0.4:2380")
    assert cfg.bugs == frozenset()


def test_explicit_values() -> None:
    env = {
        "KV_ID": "store-1",
        "KV_PEERS": PEERS,
        "KV_ENGINE": "raftos",
        "KV_DATA_DIR": "/tmp/x",
        "KV_HTTP_PORT": "21001",
        "KV_RAFT_PORT": "21002",
        "CHAOSPLANE_BUGS": "forget-vote, no-step-down",
    }
    cfg = load_config(env)
    assert cfg.engine is EngineKind.RAFTOS
    assert (cfg.data_dir, cfg.http_port, cfg.raft_port) == ("/tmp/x", 21001, 21002)
    assert cfg.bug("forget-vote") and cfg.bug("no-step-down") and not cfg.bug("watch-gap")


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"KV_PEERS": PEERS}, "KV_ID"),
        ({"KV_ID": "store-9", "KV_PEERS": PEERS}, "including this one"),
        ({"KV_ID": "a", "KV_PEERS": "a=nohostport"}, "name=host:port"),
        ({"KV_ID": "a", "KV_PEERS": "a=h:1,a=h:2"}, "unique"),
        ({"KV_ID": "a", "KV_PEERS": "a=h:1", "KV_ENGINE": "etcd"}, "pysyncobj, raftos"),
        ({"KV_ID": "a", "KV_PEERS": "a=h:1", "KV_HTTP_PORT": "x"}, "KV_HTTP_PORT"),
        ({"KV_ID": "a", "KV_PEERS": "a=h:1", "CHAOSPLANE_BUGS": "typo"}, "typo"),
    ],
)
def test_bad_environment_names_the_variable(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_config(env)


def test_bugs_off_by_default() -> None:
    assert not bugs.enabled("stale-follower-reads", {})
    assert bugs.active({}) == frozenset()


def test_bugs_parse_comma_list_with_spaces() -> None:
    env = {bugs.ENV_VAR: " ack-before-commit ,watch-gap,"}
    assert bugs.active(env) == {"ack-before-commit", "watch-gap"}
    assert bugs.enabled("watch-gap", env)
    assert not bugs.enabled("forget-vote", env)


def test_unknown_bug_is_an_error_at_start() -> None:
    with pytest.raises(bugs.UnknownBugError, match="stale-reads"):
        bugs.validate({bugs.ENV_VAR: "stale-reads"})


def test_asking_about_a_non_switch_is_an_error() -> None:
    with pytest.raises(bugs.UnknownBugError):
        bugs.enabled("not-a-bug", {})
