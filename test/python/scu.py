"""An independent DICOM client for the tests: pynetdicom, driven line by line.

    python scu.py HOST PORT --aet CT01 --aec PACS [--contexts N] [--max-pdu N]
                  [--source-address ADDR] [--user NAME --passcode PW | --jwt TOKEN ...]

Reads commands on stdin, one per line, and answers each with one JSON line on stdout:
    associate | echo | store FILE | release | abort | state | quit
so a test can hold an association open while it changes the world around it.
"""
import argparse
import hashlib
import json
import ssl
import sys

from pydicom import dcmread
from pynetdicom import AE, build_context, debug_logger  # noqa: F401
from pynetdicom.pdu_primitives import UserIdentityNegotiation
from pynetdicom.sop_class import Verification, SecondaryCaptureImageStorage, CTImageStorage
from pynetdicom import StoragePresentationContexts


def say(**fields):
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--aet", default="PYSCU")
    parser.add_argument("--aec", default="PACS")
    parser.add_argument("--contexts", type=int, default=1, help="verification plus N-1 storage contexts")
    parser.add_argument("--max-pdu", type=int, default=16382)
    parser.add_argument("--source-address", default="")
    parser.add_argument("--identity-type", type=int, default=0)
    parser.add_argument("--primary", default="")
    parser.add_argument("--secondary", default="")
    parser.add_argument("--primary-file", default="")
    parser.add_argument("--positive-response", action="store_true")
    parser.add_argument("--timeout", type=float, default=10)
    parser.add_argument("--tls-ca", default="", help="verify the server against this CA (enables TLS)")
    parser.add_argument("--tls-cert", default="")
    parser.add_argument("--tls-key", default="")
    parser.add_argument("--tls-server-name", default="localhost")
    args = parser.parse_args()

    ae = AE(ae_title=args.aet)
    ae.acse_timeout = args.timeout
    ae.dimse_timeout = args.timeout
    ae.network_timeout = args.timeout
    ae.maximum_pdu_size = args.max_pdu
    ae.add_requested_context(Verification)
    ae.add_requested_context(SecondaryCaptureImageStorage)
    for context in StoragePresentationContexts[: max(0, args.contexts - 2)]:
        if context.abstract_syntax != SecondaryCaptureImageStorage:
            ae.add_requested_context(context.abstract_syntax)

    ext_neg = []
    if args.identity_type:
        identity = UserIdentityNegotiation()
        identity.user_identity_type = args.identity_type
        primary = args.primary.encode()
        if args.primary_file:
            with open(args.primary_file, "rb") as f:
                primary = f.read().strip()
        identity.primary_field = primary
        if args.identity_type == 2:
            identity.secondary_field = args.secondary.encode()
        identity.positive_response_requested = args.positive_response
        ext_neg.append(identity)

    assoc = None
    for line in sys.stdin:
        command, _, rest = line.strip().partition(" ")
        if command == "associate":
            bind = (args.source_address, 0) if args.source_address else None
            kwargs = {"ae_title": args.aec, "ext_neg": ext_neg}
            if args.tls_ca:
                context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=args.tls_ca)
                if args.tls_cert:
                    context.load_cert_chain(args.tls_cert, args.tls_key)
                kwargs["tls_args"] = (context, args.tls_server_name)
            if bind:
                kwargs["bind_address"] = bind
            assoc = ae.associate(args.host, args.port, **kwargs)
            result = {
                "established": assoc.is_established,
                "rejected": assoc.is_rejected,
                "aborted": assoc.is_aborted,
            }
            if assoc.is_rejected and assoc.acceptor.primitive is not None:
                p = assoc.acceptor.primitive
                result["reject"] = [p.result, p.result_source, p.diagnostic]
            if assoc.is_established:
                result["accepted_contexts"] = [c.abstract_syntax for c in assoc.accepted_contexts]
                result["rejected_contexts"] = [[c.abstract_syntax, c.result] for c in assoc.rejected_contexts]
                result["max_pdu"] = assoc.acceptor.maximum_length
                response = assoc.acceptor.user_identity
                result["identity_response"] = None if response is None else response.server_response.hex()
            say(event="associate", **result)
        elif command == "echo":
            status = assoc.send_c_echo() if assoc and assoc.is_established else None
            say(event="echo", ok=bool(status) and status.Status == 0, status=None if not status else int(status.Status))
        elif command == "store":
            ds = dcmread(rest)
            status = assoc.send_c_store(ds) if assoc and assoc.is_established else None
            say(event="store", ok=bool(status) and status.Status == 0, status=None if not status else int(status.Status))
        elif command == "release":
            if assoc and assoc.is_established:
                assoc.release()
            say(event="release", released=bool(assoc and assoc.is_released), aborted=bool(assoc and assoc.is_aborted))
        elif command == "abort":
            if assoc:
                assoc.abort()
            say(event="abort")
        elif command == "state":
            say(event="state", established=bool(assoc and assoc.is_established), aborted=bool(assoc and assoc.is_aborted), released=bool(assoc and assoc.is_released))
        elif command == "peercert":
            sock = assoc.dul.socket.socket if assoc else None
            der = sock.getpeercert(binary_form=True) if sock is not None and hasattr(sock, "getpeercert") else None
            say(event="peercert", sha256=None if der is None else hashlib.sha256(der).hexdigest())
        elif command == "quit":
            break
    if assoc and assoc.is_established:
        assoc.abort()


if __name__ == "__main__":
    main()
