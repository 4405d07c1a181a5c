# An HTTPS server on a loopback address for the tests that need a web peer (an MTA-STS
# policy host, a TLS-report collector): Python's http.server behind ssl, with a
# certificate for `name` signed by the test's CA, serving `handler` on its own threads.
import http.server
import ssl
import threading

import harness


class HttpsPeer:
    def __init__(self, ca, directory, name, port, stem):
        self.ip = harness.unique_loopback()
        self.port = port
        self.cert, self.key = harness.make_signed_cert(directory, ca, name, stem=stem)
        self.httpd = None

    def serve(self, handler):
        """Starts serving `handler` (a BaseHTTPRequestHandler class); returns self."""
        self.httpd = http.server.ThreadingHTTPServer((self.ip, self.port), handler)
        self.httpd.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
