"""`pi-app validate --simulated` records its scenarios through `pi-app record`, handed in by the
command layer (validation sits below the commands and imports none of them)."""

from pathlib import Path

from pi_app.commands.validate import _record


def test_validate_records_through_the_record_command(tmp_path):
    out = tmp_path / "steady.csv"
    code = _record(["--simulate", "--scenario", "steady", "--seed", "0", "--seconds", "2",
                    "-o", str(out), "--quiet"])
    assert code == 0 and out.exists()
    assert Path(str(out).replace(".csv", ".strides.csv")).exists()


def test_a_failed_recording_is_an_exit_code_and_one_sentence(tmp_path, capsys):
    code = _record(["--simulate", "--scenario", "steady", "-o", str(tmp_path / "x.csv")])
    err = capsys.readouterr().err.strip()
    assert code != 0 and err.startswith("pi-app: ") and len(err.splitlines()) == 1
