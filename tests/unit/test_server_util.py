"""What the test HTTP servers (fake_kubelet.py, hostile_target.py) share: a threading server
that stays quiet about clients that give up, and the start-up handshake with the test that
spawned it (the port written atomically to a file) and exit when that test process is gone."""
import http.server
import os
import threading
import time


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        pass  # clients that give up (timeouts, limits, a bad CA) are expected


def serve_until_parent_exits(server, port_file):
    """Writes the bound port to port_file (rename, so the reader never sees half of it), then
    serves until the parent process goes away."""
    parent = os.getppid()

    def watch_parent():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, port_file)
    server.serve_forever()
