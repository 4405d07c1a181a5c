# Test certificates made with the openssl command: a self-signed pair, a private CA and
# server certificates it signs. Used through harness (harness.make_cert, ...) by the TLS,
# smarthost and peer tests.
import hashlib
import os
import subprocess


def make_cert(directory, cn="mail.example.test"):
    """A self-signed certificate and key (cert.pem, key.pem) in `directory`."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    if not (os.path.exists(cert) and os.path.exists(key)):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn,
             "-days", "30", "-keyout", key, "-out", cert],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.chmod(key, 0o600)
    return cert, key


def make_ca(directory, name="Mailbag Test CA"):
    """A private CA certificate and key (ca.pem, ca-key.pem) in `directory`."""
    cert = os.path.join(directory, "ca.pem")
    key = os.path.join(directory, "ca-key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name,
         "-days", "30", "-keyout", key, "-out", cert,
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.chmod(key, 0o600)
    return cert, key


def make_signed_cert(directory, ca, cn, stem="leaf"):
    """A server certificate for `cn` (CN and DNS subjectAltName) signed by `ca` (the pair
    make_ca returned), and its key: STEM.pem, STEM-key.pem in `directory`."""
    ca_cert, ca_key = ca
    cert = os.path.join(directory, stem + ".pem")
    key = os.path.join(directory, stem + "-key.pem")
    csr = os.path.join(directory, stem + ".csr")
    ext = os.path.join(directory, stem + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n" % cn)
    subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn,
                    "-keyout", key, "-out", csr],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key,
                    "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.chmod(key, 0o600)
    return cert, key


def spki_sha256(cert):
    """The SHA2-256 (hex) of a PEM certificate's SubjectPublicKeyInfo: the data of a
    DANE "3 1 1" TLSA record (RFC 6698 2.1.2, 2.1.3)."""
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, check=True,
                         capture_output=True).stdout
    return hashlib.sha256(der).hexdigest()
