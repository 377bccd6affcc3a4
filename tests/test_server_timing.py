import re

import pytest

pytestmark = pytest.mark.django_db


def test_it_reports_the_server_time_of_every_response(client):
    response = client.get("/login/")

    assert re.fullmatch(r"app;dur=\d+\.\d\d", response.headers["Server-Timing"])


def test_it_times_pages_behind_login_too(client_for, rep):
    response = client_for(rep).get("/")

    assert response.status_code == 200
    assert response.headers["Server-Timing"].startswith("app;dur=")
