from pathlib import Path

import pytest

from bot.settings import ConfigError, Settings, load_settings, sample_news_dir
from tests.helpers import REPO


def test_the_example_config_loads_and_documents_every_section() -> None:
    settings = load_settings(REPO / "config.example.toml")
    assert settings.index.path == (REPO / "newsbot-index").resolve()
    assert settings.sources[0].path == (REPO / "news").resolve()
    assert settings.discord.token_env == "DISCORD_TOKEN"
    text = (REPO / "config.example.toml").read_text()
    for section, model in Settings.model_fields.items():
        assert f"[{section}]" in text or f"[[{section}]]" in text
        sub = model.annotation
        fields = getattr(sub, "model_fields", None) or getattr(
            getattr(sub, "__args__", [None])[0], "model_fields", {}
        )
        for name in fields:
            assert f"{name} =" in text or f"{name}  =" in text or f"# {name}" in text, (
                f"{section}.{name} undocumented"
            )


def test_the_example_values_are_the_defaults() -> None:
    example = load_settings(REPO / "config.example.toml")
    defaults = Settings()
    assert example.chunking == defaults.chunking
    assert example.bm25 == defaults.bm25
    assert example.answer == defaults.answer
    assert example.discord == defaults.discord
    assert example.fetch == defaults.fetch
    assert example.servers == defaults.servers


def test_no_config_means_the_bundled_sample_news(tmp_path: Path) -> None:
    settings = load_settings(None)
    assert [s.location for s in settings.source_refs()] == [str(sample_news_dir())]
    assert len(list(sample_news_dir().glob("*.md"))) >= 8
    assert settings.index.path == (tmp_path / "home" / "index").resolve()


def test_a_bad_value_names_its_field(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[bm25]\nvariant = "best"\n')
    with pytest.raises(ConfigError, match=r"Bad setting bm25.variant in .*c.toml"):
        load_settings(path)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('allow_private = ["intranet.example:8080"]', "is neither a host name nor a network"),
        ('allow_private = ["not a host"]', "is neither a host name nor a network"),
        ('allow_ports = ["80-70"]', "is not a port or a range of ports from 1 to 65535"),
        ("allow_ports = [70000]", "is not a port or a range of ports from 1 to 65535"),
    ],
)
def test_a_bad_fetch_allowance_names_its_setting(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f"[fetch]\n{line}\n")
    with pytest.raises(
        ConfigError, match=rf"Bad setting fetch\.allow_\w+ in .*c.toml: .*{message}"
    ):
        load_settings(path)


def test_fetch_allowances_are_read(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[fetch]\nallow_private = ["10.1.2.0/24", "intranet.example"]\nallow_ports = [8080, "9000-9001"]\n'
    )
    policy = load_settings(path).fetch.policy()
    assert (
        policy.check_url("http://intranet.example:8080/feed").url
        == "http://intranet.example:8080/feed"
    )
    assert policy.check_url("http://10.1.2.7:9001/").address is not None
