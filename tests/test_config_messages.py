"""Config errors say each thing once and name the real mistake (issue 12 §3)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from pi_app.config import TABLES, loads_config
from pi_app.errors import ConfigError


def ranged_fields():
    for table, cls in TABLES.items():
        for f in dataclasses.fields(cls):
            if f.metadata.get("lo") is not None and f.metadata.get("hi") is not None:
                yield table, f


@pytest.mark.parametrize("table,field", list(ranged_fields()),
                         ids=lambda x: getattr(x, "name", x))
def test_out_of_range_message_states_the_range_once(table, field):
    too_big = field.metadata["hi"] + 1000
    with pytest.raises(ConfigError) as err:
        loads_config(f"[{table}]\n{field.name} = {too_big}\n", source="my.toml")
    msg = str(err.value)
    assert len(re.findall(r"from \S+ to \S+", msg)) == 1, msg


@pytest.mark.parametrize("key,text,fix", [
    ("pelvis_address", '"0x68"', "pelvis_address = 0x68"),
    ("thorax_address", '" 0x69"', "thorax_address = 0x69"),
])
def test_quoted_address_is_told_to_drop_the_quotes(key, text, fix):
    other = "thorax_address = 0x69" if key == "pelvis_address" else "pelvis_address = 0x68"
    with pytest.raises(ConfigError) as err:
        loads_config(f"[sensors]\n{key} = {text}\n{other}\n", source="my.toml")
    msg = str(err.value)
    assert "quotes" in msg and msg.endswith(fix + ".") and err.value.key == f"sensors.{key}"


def test_quoted_number_is_told_to_drop_the_quotes():
    with pytest.raises(ConfigError) as err:
        loads_config('[audio]\nvolume = "0.5"\n', source="my.toml")
    assert "volume = 0.5" in str(err.value) and "quotes" in str(err.value)


def test_a_word_in_a_number_field_is_not_called_quoted():
    with pytest.raises(ConfigError) as err:
        loads_config('[audio]\nvolume = "loud"\n', source="my.toml")
    assert "quotes" not in str(err.value) and "from 0 to 1" in str(err.value)
