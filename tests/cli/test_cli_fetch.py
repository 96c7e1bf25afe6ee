"""`object fetch` / `object save` targets: '-' is standard output, an existing directory
receives the object under its base name (as cp does), and nothing is left beside them."""

from __future__ import annotations


def test_file_into_a_directory_and_to_stdout(oio):
    oio.ok("object", "create", "c", "-", "--name", "a/b/photo.jpg", input=b"jpeg")
    oio.ok("object", "create", "c", "-", "--name", "dir/", input=b"")
    out = oio.cwd / "out"
    out.mkdir()
    # an existing directory receives the object under its base name, as cp does
    oio.ok("object", "fetch", "c", "a/b/photo.jpg", "--file", "out")
    assert (out / "photo.jpg").read_bytes() == b"jpeg"
    oio.ok("object", "save", "c", "a/b/photo.jpg", "--file", "out/")
    assert sorted(p.name for p in out.iterdir()) == ["photo.jpg"]  # nothing else left there
    assert not list(oio.cwd.glob(".*oio-part")) and not list(out.glob(".*"))
    # '-' is standard output, never a file named '-'
    proc = oio.ok("object", "fetch", "c", "a/b/photo.jpg", "--file", "-")
    assert proc.stdout == b"jpeg" and not (oio.cwd / "-").exists()
    # no base name to save under, or a directory in the way: refused, nothing written
    proc = oio.fails(1, "object", "fetch", "c", "dir/", "--file", "out")
    assert "dir/" in proc.err
    (out / "photo.jpg").unlink()
    (out / "photo.jpg").mkdir()
    proc = oio.fails(1, "object", "fetch", "c", "a/b/photo.jpg", "--file", "out")
    assert "is a directory" in proc.err
    proc = oio.fails(1, "object", "fetch", "c", "a/b/photo.jpg", "--file", "nosuchdir/")
    assert "nosuchdir" in proc.err and not (oio.cwd / "nosuchdir").exists()
