"""A volunteer's day through the generated Python binding of gocua-mobile, as
the phone app would call it (tests/mobile.rs drives it, phase by phase, each
phase a new process that opens the store again, as an app restarted would).

Usage: python3 flow.py PHASE JSON_ARGS; prints one JSON object on its last line.
Only the standard library and the generated `gocua_mobile` module.
"""

import json
import sys
import threading

import gocua_mobile as g


class Progress(g.SyncListener):
    """Collects what the sync tells, as an app's progress bar would."""

    def __init__(self):
        self.events = []
        self.retries = 0

    def progress(self, progress):
        self.events.append((progress.phase, progress.done, progress.total))

    def retrying(self, attempt, attempts):
        self.retries += 1


def open_store(a, language="vi"):
    return g.FieldStore.open(a["db"], bytes.fromhex(a["key"]), language)


def report(r):
    return {
        "sent": r.sent,
        "received": r.received,
        "conflicts": r.conflicts,
        "bootstrapped": r.bootstrapped,
    }


def bad_catalogue(s):
    try:
        s.catalogue("dich vu")
    except g.GocuaError.Invalid as e:
        return e.field
    return None


def enroll_and_record(a):
    s = open_store(a)
    ident = s.enroll(a["server"], a["code"], "điện thoại của Mai")
    h = s.add_household(
        g.NewHousehold(
            village="",
            address="Xóm 2, Thôn Đông",
            head_name="Vừ A Dính",
            phone="0912000111",
            member_count=4,
            device_access="smartphone",
            target_groups=["elderly"],
        )
    )
    m = s.add_member(
        h.id,
        g.NewPerson(
            name="Vừ Thị Mỷ",
            birth_year=1958,
            gender="nữ",
            id_number=None,
            skills=g.Skills(vneid_level="mức 2"),
        ),
    )
    c = s.record_consent(
        h.id,
        g.NewConsent(person_id=m.id, purpose="Hỗ trợ VNeID", method="bằng lời", given_at=None),
    )
    v = s.record_visit(
        h.id,
        g.NewVisit(
            visited_at=None,
            person_ids=[m.id],
            services=[g.ServiceOutcome(service="vneid_activate", outcome="done", note=None)],
            duration_minutes=30,
            follow_up_on=None,
            feedback="Bà rất vui",
            consent_id=c.id,
            other_volunteer_ids=[],
            entered_late=False,
        ),
    )
    # A refused value: the field and a message in the user's language.
    refused = None
    try:
        s.add_member(h.id, g.NewPerson(name="", birth_year=3000, gender=None, id_number=None, skills=g.Skills()))
    except g.GocuaError.Invalid as e:
        refused = {"field": e.field, "problem": e.problem, "message": e.message}
    pending = s.status().pending_changes
    listener = Progress()
    r = s.sync(listener, None)
    status = s.status()
    return {
        "volunteer": ident.volunteer_name,
        "villages": [x.name for x in ident.villages],
        "household": h.id,
        "member": m.id,
        "visit": v.id,
        "gender": s.household(h.id).members[0].gender,
        "refused": refused,
        "pending_before": pending,
        "pending_after": status.pending_changes,
        "sync": report(r),
        "progress_events": len(listener.events),
        "services": len(s.catalogue("service")),
        "bad_catalogue": bad_catalogue(s),
    }


def edit_offline(a):
    s = open_store(a)
    s.edit_household(
        a["household"],
        g.HouseholdEdit(
            village=None,
            address=None,
            head_name=None,
            phone="0911111111",
            member_count=None,
            device_access=None,
            add_target_groups=[],
            remove_target_groups=[],
        ),
    )
    return {"pending": s.status().pending_changes}


def sync_and_resolve(a):
    s = open_store(a, "en")
    r = s.sync(Progress(), None)
    mine = s.household(a["household"])
    theirs = s.household(a["cli_household"])
    found = s.search("pham thi hoa", 10)
    conflicts = [
        {"household": c.household_id, "path": c.path, "label": c.label, "values": c.values}
        for c in s.conflicts()
    ]
    resolved = s.resolve_conflict(a["household"], "phone", a["keep"])
    after = s.sync(None, None)
    return {
        "sync": report(r),
        "conflicts": conflicts,
        "household_conflicts": len(mine.conflicts),
        "visits": len(mine.visits),
        "cli_head": theirs.head_name,
        "found": found.total,
        "phone_after": resolved.phone,
        "conflicts_after": len(s.conflicts()),
        "sent_after": after.sent,
    }


def threads(a):
    """A UI thread reading while a worker thread syncs, and two handles on one
    file: nothing fails, each sees what the other wrote."""
    worker_store = open_store(a)
    ui_store = open_store(a)
    stop = threading.Event()
    reads = [0]
    errors = []

    def ui():
        while not stop.is_set():
            try:
                ui_store.list_households(None, 50)
                ui_store.search("vu a dinh", 10)
                ui_store.status()
                reads[0] += 1
            except Exception as e:  # noqa: BLE001 - any failure is the finding
                errors.append(repr(e))

    t = threading.Thread(target=ui)
    t.start()
    try:
        added = []
        for i in range(5):
            h = worker_store.add_household(
                g.NewHousehold(
                    village="",
                    address=f"Xóm {i}",
                    head_name=f"Hộ luồng {i}",
                    phone=None,
                    member_count=None,
                    device_access=None,
                    target_groups=[],
                )
            )
            added.append(h.id)
        pending = worker_store.status().pending_changes
        r = worker_store.sync(Progress(), None)
    finally:
        stop.set()
        t.join()
    seen = [ui_store.household(h).head_name for h in added]
    # A sync cancelled before its first request stops at once, changing nothing.
    cancel = g.SyncCancel()
    cancel.cancel()
    cancelled = None
    try:
        worker_store.sync(None, cancel)
    except g.GocuaError.Cancelled as e:
        cancelled = e.message
    return {
        "reads": reads[0],
        "errors": errors,
        "sent": r.sent,
        "pending": pending,
        "seen": seen,
        "cancelled": cancelled,
    }


def wrong_key(a):
    out = {}
    try:
        g.FieldStore.open(a["db"], bytes(32), "vi")
    except g.GocuaError.WrongKey as e:
        out["wrong"] = e.message
    try:
        g.FieldStore.open(a["db"], bytes(7), "en")
    except g.GocuaError.WrongKey as e:
        out["short"] = e.message
    try:
        g.FieldStore.open(a["db"], None, "en")
    except g.GocuaError.WrongKey as e:
        out["none"] = e.message
    return out


PHASES = {
    "enroll_and_record": enroll_and_record,
    "edit_offline": edit_offline,
    "sync_and_resolve": sync_and_resolve,
    "threads": threads,
    "wrong_key": wrong_key,
}

if __name__ == "__main__":
    phase, args = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps(PHASES[phase](args), ensure_ascii=False))
