import pytest

from custvalue.config import Config, load_config
from custvalue.errors import ConfigError
from tests.conftest import REPO


def test_shipped_config_is_valid_and_documents_the_defaults():
    assert load_config(REPO / "config" / "custvalue.yaml") == Config()


def test_partial_config_keeps_defaults(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("review:\n  window_quarters: 6\n")
    config = load_config(path)
    assert config.review.window_quarters == 6
    assert config.review.strikes_for_let_go == Config().review.strikes_for_let_go


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("review:\n  windw_quarters: 4\n", "unknown key(s) windw_quarters"),
        ("review:\n  window_quarters: four\n", "config.review.window_quarters must be a whole number"),
        ("review:\n  strikes_for_let_go: 9\n", "strikes_for_let_go must be in 1..window_quarters"),
        ("cost_to_serve:\n  pools:\n    desk: {cost_per_quarter: 1, practical_capacity_minutes: 0}\n", "practical_capacity_minutes must be > 0"),
        ("cost_to_serve:\n  pools:\n    desk: {cost_per_quarter: 1, practical_capacity_minutes: 10}\n",
         "config.cost_to_serve.pools.desk.behaviour is missing: say how this cost behaves when work leaves (variable, step, committed)"),
        ("cost_to_serve:\n  pools:\n    desk: {cost_per_quarter: 1, practical_capacity_minutes: 10, behaviour: fixed}\n",
         "config.cost_to_serve.pools.desk.behaviour must be one of variable, step, committed, got 'fixed'"),
        ("cost_to_serve:\n  pools:\n    desk: {cost_per_quarter: 1, practical_capacity_minutes: 10, behaviour: step}\n",
         "config.cost_to_serve.pools.desk.step_minutes must be > 0 for a step pool"),
        ("cost_to_serve:\n  pools:\n    desk: {cost_per_quarter: 1, practical_capacity_minutes: 10, behaviour: variable, step_minutes: 5}\n",
         "config.cost_to_serve.pools.desk.step_minutes is only for a step pool"),
        ("cost_to_serve:\n  financial_costs: {financing: variable}\n",
         "config.cost_to_serve.financial_costs.bad_debt is missing: say how this cost behaves when work leaves (variable, committed)"),
        ("cost_to_serve:\n  financial_costs: {financing: step, bad_debt: variable}\n",
         "config.cost_to_serve.financial_costs.financing must be one of variable, committed, got 'step'"),
        ("cost_to_serve:\n  financial_costs: {financing: variable, bad_debt: variable, discount: variable}\n",
         "config.cost_to_serve.financial_costs: unknown financial cost(s) discount"),
        ("lifetime: [1, 2]\n", "config.lifetime must be a mapping"),
        ("currency: EURO\n", "currency must be a 3-letter ISO code"),
        ("review: {window_quarters: 4\n", "not valid YAML"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path, text, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert fragment in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(tmp_path / "nope.yaml")


def test_fingerprint_changes_with_settings(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("review:\n  window_quarters: 5\n")
    assert load_config(path).fingerprint() != Config().fingerprint()
    assert Config().fingerprint() == Config().fingerprint()


def test_configuration_document_is_generated_from_the_settings():
    from custvalue.config import configuration_markdown
    documented = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert documented == configuration_markdown(), "docs/configuration.md is stale: run `make config-doc`"
    for key in ("window_quarters", "strikes_for_let_go", "protect_top_share", "late_excess_days", "cost_of_capital_annual"):
        assert f"`{key}`" in documented
