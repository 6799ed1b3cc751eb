"""A customer files a ticket on deskapp: open the form, send it with its CSRF token, read the ticket.

A plain locustfile (``locust -f tests/systems/deskapp/scenarios/customer_path.py
--host http://127.0.0.1:8090``); drills in ``tests/systems/deskapp/drills/`` run it
through the harness. Each user keeps its cookies (the CSRF session), as a browser does.

Request names (the harness's endpoints): ``ticket:form`` (GET /tickets/new, no
database), ``ticket:create`` (POST /tickets, must answer 302 with
``Location: /tickets/T-...``), ``ticket:page`` (GET that Location, must show the id).
"""

from __future__ import annotations

import random
import re

from locust import FastHttpUser, between, task

TOKEN_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
LOCATION_RE = re.compile(r"/tickets/(T-\d{6,})$")
SUBJECTS = ["Parcel arrived damaged", "Where is my refund", "Wrong size delivered"]


class Customer(FastHttpUser):
    wait_time = between(0.2, 0.6)
    network_timeout = 10.0
    connection_timeout = 5.0

    @task
    def file_a_ticket(self) -> None:
        with self.client.get("/tickets/new", name="ticket:form", catch_response=True) as form:
            found = TOKEN_RE.search(form.text or "") if form.status_code == 200 else None
            if form.status_code == 200 and not found:
                form.failure("the form carries no csrf_token")
        if not found:
            return
        fields = {
            "csrf_token": found.group(1),
            "email": f"customer{random.randint(1, 99_999)}@example.com",
            "subject": random.choice(SUBJECTS),
            "message": "Please help, order A1234 is not what I expected.",
        }
        with self.client.post(
            "/tickets",
            name="ticket:create",
            data=fields,
            allow_redirects=False,
            catch_response=True,
        ) as created:
            location = created.headers.get("Location", "") if created.status_code == 302 else ""
            ticket = LOCATION_RE.search(location)
            if created.status_code < 400 and not ticket:
                created.failure(
                    f"expected 302 to /tickets/T-..., got {created.status_code} {location!r}"
                )
        if not ticket:
            return
        with self.client.get(location, name="ticket:page", catch_response=True) as page:
            if page.status_code == 200 and ticket.group(1) not in (page.text or ""):
                page.failure(f"the ticket page does not show {ticket.group(1)}")
