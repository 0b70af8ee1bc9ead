"""A subscriber that acknowledges every message at once and stores nothing: the transport ceiling.

Run by bench/telemetry.py (phase "transport"): it joins the workers' shared subscription with the lean
client's own packet functions (MQTT 5, one PUBACK per message, written a read at a time) and keeps a count
in a small file, so that publisher → Mosquitto → subscriber can be timed without any database work.
Usage: telemetry_subscribe.py PORT CLIENT_ID COUNT_FILE
"""

import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from worksafe.monitoring import mqtt_lean as ml  # noqa: E402


def main() -> None:
    port, client_id, count_file = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(ml.connect_packet(client_id, 30, protocol=5, session_expiry=0, receive_maximum=5000))
    buf, connected = b"", False
    while not connected:  # CONNACK, then SUBACK
        buf += sock.recv(65536)
        packets, pos = ml.parse(buf, v5=True)
        buf = buf[pos:]
        connected = any(p[0] == 2 for p in packets if not isinstance(p, ml.Publish))
    sock.sendall(ml.subscribe_packet(1, "$share/worksafe-ingest/worksafe/v1/+/+/data", 1, protocol=5))
    count_file.write_text(f"0 {time.time()}")  # subscribed: the bench may start publishing
    sock.settimeout(0.05)
    n, written = 0, 0.0
    while True:
        try:
            data = sock.recv(1 << 20)
        except TimeoutError:  # quiet: make sure the last count is on disk
            count_file.write_text(f"{n} {written}")
            continue
        if not data:
            break
        buf += data
        packets, pos = ml.parse(buf, v5=True)
        buf = buf[pos:]
        acks = [ml.puback(p.mid) for p in packets if isinstance(p, ml.Publish)]
        if acks:
            sock.sendall(b"".join(acks))
            n += len(acks)
            written = time.time()  # when the latest message arrived
            count_file.write_text(f"{n} {written}")

if __name__ == "__main__":
    main()
