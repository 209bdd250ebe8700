import pytest

from custvalue.atomic import atomic_directory, atomic_write_path, atomic_write_text


def test_atomic_write_replaces_on_success(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write_path(target) as temporary:
            temporary.write_text("half-writ")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"], "no temporary file left behind"


def test_atomic_directory_swaps_complete_folder(tmp_path):
    target = tmp_path / "2026Q2"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with atomic_directory(target) as staging:
        (staging / "new.txt").write_text("new")
        assert not (target / "new.txt").exists(), "nothing visible before the swap"
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["2026Q2"]


def test_atomic_directory_keeps_previous_output_on_failure(tmp_path):
    target = tmp_path / "2026Q2"
    target.mkdir()
    (target / "good.txt").write_text("good")
    with pytest.raises(ValueError):
        with atomic_directory(target) as staging:
            (staging / "partial.txt").write_text("partial")
            raise ValueError("a notebook failed")
    assert sorted(p.name for p in target.iterdir()) == ["good.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["2026Q2"]
