"""Writes are atomic: a temporary file in the same directory, then a rename or link."""

import os

import numpy as np
import pytest

import txw
from txw import codecs


def test_no_temporary_files_left(tmp_path):
    txw.write_container(tmp_path / "a.txw", [("x", np.arange(100.0))], block_size=64)
    assert sorted(os.listdir(tmp_path)) == ["a.txw"]


def test_refuses_to_overwrite(tmp_path):
    path = tmp_path / "a.txw"
    txw.write_container(path, [("x", [1.0])])
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        txw.write_container(path, [("x", [2.0])])
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["a.txw"]


def test_overwrite_replaces(tmp_path):
    path = tmp_path / "a.txw"
    txw.write_container(path, [("x", [1.0])])
    txw.write_container(path, [("x", [2.0])], overwrite=True)
    with txw.read_container(path) as c:
        assert c.read("x").tolist() == [2.0]
    assert sorted(os.listdir(tmp_path)) == ["a.txw"]


def test_does_not_write_through_an_existing_symlink_or_other_file(tmp_path):
    target = tmp_path / "target.bin"
    target.write_bytes(b"keep me")
    link = tmp_path / "link.txw"
    link.symlink_to(target)
    with pytest.raises(FileExistsError):
        txw.write_container(link, [("x", [1.0])])
    assert target.read_bytes() == b"keep me"


def test_failure_midway_leaves_nothing(tmp_path, monkeypatch):
    path = tmp_path / "a.txw"
    txw.write_container(path, [("x", [1.0])])
    before = path.read_bytes()

    class Boom(RuntimeError):
        pass

    def failing_compressor(level):
        class Compressor:
            def compress(self, data):
                raise Boom("disk on fire")

        return Compressor()

    monkeypatch.setattr(codecs, "new_compressor", failing_compressor)
    with pytest.raises(Boom):
        txw.write_container(path, [("x", np.arange(1000.0))], overwrite=True)
    with pytest.raises(Boom):
        txw.write_container(tmp_path / "new.txw", [("x", np.arange(1000.0))])
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["a.txw"]


def test_invalid_input_fails_before_touching_the_disk(tmp_path):
    with pytest.raises(txw.TXWError):
        txw.write_container(tmp_path / "a.txw", [("x", [1.0]), ("x", [2.0])])
    assert os.listdir(tmp_path) == []


def test_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        txw.write_container(tmp_path / "no" / "such" / "a.txw", [("x", [1.0])])


def test_permissions_follow_umask(tmp_path):
    old = os.umask(0o022)
    try:
        txw.write_container(tmp_path / "a.txw", [("x", [1.0])])
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "a.txw").st_mode & 0o777 == 0o644
