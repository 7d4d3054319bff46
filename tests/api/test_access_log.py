"""Phone numbers never reach a log: gunicorn's access log drops /api/ query strings."""

import importlib.util
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

CONF = Path(__file__).resolve().parents[2] / "config" / "gunicorn.conf.py"


@pytest.fixture
def access_line(tmp_path):
    spec = importlib.util.spec_from_file_location("gunicorn_conf", CONF)
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    log_file = tmp_path / "access.log"
    cfg = Config()
    cfg.set("accesslog", str(log_file))
    cfg.set("access_log_format", conf.access_log_format)
    logger = conf.logger_class(cfg)

    def log(uri, referer="-"):
        path, _, query = uri.partition("?")
        environ = {
            "REQUEST_METHOD": "GET",
            "RAW_URI": uri,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_REFERER": referer,
        }
        resp = SimpleNamespace(status="200 OK", sent=10, headers=[("X-Request-ID", "r1")])
        req = SimpleNamespace(headers=[("AUTHORIZATION", "Api-Key abc.secret")])
        logger.access(resp, req, environ, timedelta(milliseconds=3))
        return log_file.read_text().splitlines()[-1]

    return log


def test_it_drops_the_query_string_of_api_paths(access_line):
    line = access_line("/api/v1/members/lookup?phone=13812345678")

    assert "13812345678" not in line
    assert '"GET /api/v1/members/lookup HTTP/1.1" 200' in line
    assert "req=r1" in line


def test_it_keeps_the_query_string_of_other_paths(access_line):
    assert "?q=shoes" in access_line("/admin/members/member/?q=shoes")


def test_it_drops_the_query_of_an_api_referrer_too(access_line):
    line = access_line("/api/docs/", referer="http://x/api/v1/members/lookup?phone=13812345678")

    assert "13812345678" not in line
