"""The services run the business on the injected clock (minqing/clock.py), not on the machine's.

The same registration one minute apart straddles the 16:00 cut-off for 即办件 on Friday 3 April 2026, the
last working day before Qingming (4–6 April off): by 15:59 it is due that evening; from 16:00 it is due at
noon on Tuesday 7 April. Only services that read the injected clock, end to end through the gateway and
the broker, can give both answers on the same day.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from helpers import case_body, wait_for

from minqing import clock

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("registered", "due"),
    [
        # 15:59:00 leaves a minute for the request to reach intake, however loaded the machine
        (datetime(2026, 4, 3, 15, 59, tzinfo=SHANGHAI), datetime(2026, 4, 3, 18, 0, tzinfo=SHANGHAI)),
        (datetime(2026, 4, 3, 16, 0, tzinfo=SHANGHAI), datetime(2026, 4, 7, 12, 0, tzinfo=SHANGHAI)),
    ],
    ids=["friday-15:59-due-that-evening", "friday-16:00-due-after-qingming"],
)
def test_an_immediate_case_is_due_by_the_injected_clock(directory, registered, due):
    api = directory
    clock.start_at(registered)  # every container in this process reads it from here on
    case = api.post("/api/v1/cases", case_body(title="小区绿化带杂草丛生", description="长期没人修剪")).json()
    registered_at = datetime.fromisoformat(case["registered_at"])
    assert registered <= registered_at < due  # intake stamped the case on the injected clock
    wait_for(lambda: api.get(f"/api/v1/cases/{case['id']}/routing").status_code == 200)  # came over the broker

    classified = api.post(
        f"/api/v1/cases/{case['id']}/classify", {"handling_type": "immediate", "reason": "即办", "version": 1}
    )
    assert classified.status_code == 200, classified.text
    assert datetime.fromisoformat(classified.json()["deadline"]) == due
    # the resident's ledger (intake's copy, fed by routing's events) shows the same deadline
    ledger = wait_for(lambda: (c := api.get(f"/api/v1/cases/{case['id']}").json())["deadline"] and c)
    assert datetime.fromisoformat(ledger["deadline"]) == due
    assert not ledger["overdue"]

