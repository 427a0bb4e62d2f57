"""training/weights_fetch.py: a download is hashed as it arrives, kept only whole and matching, and
offline the message says which file goes where. The server is a local one on the loopback address."""

from __future__ import annotations

import hashlib
import http.server
import threading

import pytest
import torch

from gradia_desktop.cli import main
from gradia_desktop.errors import Cancelled, GradiaError
from gradia_desktop.training import weights_fetch
from gradia_desktop.training.models import imagenet_weights_path
from gradia_desktop.training.weights_fetch import fetch_weights, weights_file

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    return tmp_path / "hub" / "checkpoints"


@pytest.fixture
def server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = PAYLOAD if self.path == "/good" else PAYLOAD[:-1] + b"x"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def named_for_payload(monkeypatch):
    """resnet18's file named as torchvision names files: with the payload's hash prefix."""
    real = weights_fetch.weights_file

    def renamed(arch):
        found = real(arch)
        prefix = hashlib.sha256(PAYLOAD).hexdigest()[:8]
        return weights_fetch.WeightsFile(arch, found.url, found.path.with_name(f"{arch}-{prefix}.pth"), prefix)

    monkeypatch.setattr(weights_fetch, "weights_file", renamed)


def test_torchvision_names_the_file_and_its_hash():
    found = weights_file("resnet18")
    assert found.path.name == "resnet18-f37072fd.pth" and found.hash_prefix == "f37072fd"
    assert found.url.startswith("https://download.pytorch.org/")
    with pytest.raises(GradiaError, match="has no ImageNet weights"):
        weights_file("tiny")


def test_a_matching_download_lands_in_the_cache_whole(cache, server, named_for_payload):
    stages = []
    found = fetch_weights("resnet18", lambda stage, done, total: stages.append((done, total)), url=f"{server}/good")
    assert found.path.read_bytes() == PAYLOAD and found.path.parent == cache
    assert stages[-1] == (len(PAYLOAD), len(PAYLOAD)) and len(stages) >= 1
    assert list(cache.iterdir()) == [found.path]
    assert fetch_weights("resnet18", url=f"{server}/nothing-asked").path == found.path  # present: no download


def test_a_download_with_another_hash_is_not_kept(cache, server, named_for_payload):
    with pytest.raises(GradiaError, match="does not match"):
        fetch_weights("resnet18", url=f"{server}/bad")
    assert not any(cache.iterdir())


def test_a_cancelled_download_leaves_nothing(cache, server, named_for_payload):
    with pytest.raises(Cancelled):
        fetch_weights("resnet18", cancelled=lambda: True, url=f"{server}/good")
    assert not any(cache.iterdir())


def test_offline_the_message_names_the_file_and_where_it_goes(cache, capsys):
    closed = "http://127.0.0.1:9/resnet18-f37072fd.pth"  # the discard port: nothing listens
    code = main(["weights", "fetch", "resnet18", "--url", closed])
    err = capsys.readouterr().err
    assert code == 2 and "cannot download" in err and str(cache / "resnet18-f37072fd.pth") in err
    assert "https://download.pytorch.org/" in err
    with pytest.raises(GradiaError, match="gradia weights fetch resnet18"):
        imagenet_weights_path("resnet18")


def test_where_says_whether_the_file_is_there(cache, capsys):
    assert main(["weights", "where", "resnet18", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"present": false' in out and "resnet18-f37072fd.pth" in out
