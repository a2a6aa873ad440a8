"""libca's own WRITE_NOTIFY status (ca_array_put_callback; pyepics' caput
drops it), for the CA tests that judge it: ca_modbus_write_client.py and
ca_persist_client.py. Import after the EPICS_CA_* environment is set.
"""
import time

from epics import ca, dbr

done = {}  # the last put callback's status (the tests that wait their own way read it)


def _on_put(args):
    done["status"] = args.status


PUT_CB = dbr.make_callback(_on_put, dbr.event_handler_args)


def put_with_status(chid, ftype, data, timeout):
    """One WRITE_NOTIFY of `data`: (the queueing call's ECA code, libca's status or None when no answer came
    within timeout, seconds until the answer)."""
    done.clear()
    t0 = time.monotonic()
    queued = ca.libca.ca_array_put_callback(ftype, 1, chid, data, PUT_CB, None)
    ca.flush_io()
    while queued == 1 and "status" not in done and time.monotonic() - t0 < timeout:
        ca.poll(0.002)
    return queued, done.get("status"), time.monotonic() - t0
