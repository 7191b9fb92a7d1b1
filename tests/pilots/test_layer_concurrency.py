"""Two pilots of one layer launched at the same moment: exactly one enrols the shared moderators."""

import threading
from datetime import UTC, datetime

from pilots import lifecycle
from pilots.errors import Conflict
from tests.pilots._roster_factories import add_roster, make_pilot, moderators
from webui.database import sessions

LAUNCH = datetime(2024, 6, 1, tzinfo=UTC)  # simulation mode, at the factory pilots' (past) start date


def test_simultaneous_launches_in_one_layer_cannot_both_enrol(app):
    with app.app_context():
        factory = sessions()
        with factory() as session:
            ids = []
            for name in ("first", "second"):
                pilot = make_pilot(session, name=name, layer="console")
                add_roster(session, pilot, moderators(40))
                ids.append(pilot.id)
            session.commit()

        barrier = threading.Barrier(2)
        outcomes: dict[int, str] = {}

        def launch(pilot_id: int) -> None:
            with factory() as session:
                barrier.wait()
                try:
                    lifecycle.launch_pilot(session, pilot_id, "pm-user", launched_at=LAUNCH)
                    outcomes[pilot_id] = "running"
                except Conflict:
                    outcomes[pilot_id] = "conflict"

        threads = [threading.Thread(target=launch, args=(pilot_id,)) for pilot_id in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert sorted(outcomes.values()) == ["conflict", "running"]
