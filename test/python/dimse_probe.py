"""One DIMSE probe per run, for the tests of per-message checks (issue 14).

    python dimse_probe.py HOST PORT --probe NAME --aet VIEWER --aec PACS
                          [--file F.dcm] [--study-uid UID] [--move-destination AE]
                          [--fragment N] [--context-id N] [--timeout S] [--debug]

An independent client: pynetdicom builds the A-ASSOCIATE-RQ and the DIMSE command sets,
and this program decides which presentation context ID each message travels on and how
its command set is cut into P-DATA-TF PDUs, so it can send what a well-behaved SCU never
would. It prints exactly one JSON line on stdout:

    {"probe", "established", "rejected", "contexts": [{"id", "abstractSyntax", "result",
     "transferSyntax", "scuRole", "scpRole"}], "sent": {...} | null, "outcome",
     "status", "statuses", "abort": {"source", "reason"} | null, "released",
     "instancesReceived" (get), "error"}

outcome is one of: response (a final DIMSE response arrived; status is its Status),
aborted (an A-ABORT PDU arrived; abort has its source and reason, PS3.8 9.3.8),
closed (the connection closed without an A-ABORT), timeout (nothing within --timeout),
not-established (rejected or no connection), not-sent (nothing to send it on).

Probes (PS3.7 section for the rule each one breaks):
  echo, store, find, move            the allowed operations, as baselines
  store-on-verification              C-STORE-RQ + data set on the Verification context:
                                     a request's Affected SOP Class is the abstract
                                     syntax of the context it travels on (PS3.7 9.1,
                                     PS3.8 7.1.1.13)
  move-on-find                       C-MOVE-RQ (Study Root MOVE UID) on the FIND context
  find-on-storage                    C-FIND-RQ (Study Root FIND UID) on a storage context
  pdata-on-refused-context           P-DATA on a context the AC refused (PS3.8 9.3.5:
                                     only accepted contexts carry P-DATA)
  pdata-on-unproposed-context        P-DATA on context ID 201, never proposed
  split-command                      C-ECHO with its command set cut into --fragment
                                     (default 20) byte PDVs, one P-DATA-TF each
                                     (PS3.8 Annex E: fragments of one message)
  split-command-store-on-verification  store-on-verification, command set split likewise
  get                                a real C-GET (Study Root GET) with storage contexts
                                     proposed with the SCP role (PS3.7 D.3.3.4)
  store-on-get-context               C-STORE-RQ from the client on a storage context
                                     whose role selection asked for SCU and SCP

Every probe ends within about 3 x --timeout seconds (a watchdog prints and exits).
"""
import argparse
import json
import os
import sys
import threading
import time
from io import BytesIO

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, build_role, debug_logger, evt
from pynetdicom.dimse import _RQ_TO_MESSAGE
from pynetdicom.dimse_primitives import C_ECHO, C_FIND, C_MOVE, C_STORE
from pynetdicom.dsutils import encode
from pynetdicom.pdu import A_ABORT_RQ
from pynetdicom.pdu_primitives import P_DATA
from pynetdicom.sop_class import (
    StudyRootQueryRetrieveInformationModelFind as STUDY_FIND,
    StudyRootQueryRetrieveInformationModelGet as STUDY_GET,
    StudyRootQueryRetrieveInformationModelMove as STUDY_MOVE,
    Verification as VERIFICATION,
)

# Transfer syntaxes proposed for every context: the default (PS3.5 10.1) and explicit
# little endian; the data sets sent are encoded in whichever the AC chose.
TRANSFER_SYNTAXES = [ImplicitVRLittleEndian, ExplicitVRLittleEndian]
# A private abstract syntax nobody supports, so that a PACS refuses it (result 3) even
# when nothing stands in front of it.
UNSUPPORTED_SOP_CLASS = "1.2.826.0.1.3680043.10.1234.99.1"
UNPROPOSED_CONTEXT_ID = 201
# PS3.7 Annex C: Pending statuses; every other status ends the operation.
PENDING = {0xFF00, 0xFF01}
COMMAND_NAMES = {C_ECHO: "C-ECHO-RQ", C_STORE: "C-STORE-RQ", C_FIND: "C-FIND-RQ", C_MOVE: "C-MOVE-RQ"}
COMMAND_FIELDS = {C_ECHO: 0x0030, C_STORE: 0x0001, C_FIND: 0x0020, C_MOVE: 0x0021}

PROBES = [
    "echo", "store", "find", "move",
    "store-on-verification", "move-on-find", "find-on-storage",
    "pdata-on-refused-context", "pdata-on-unproposed-context",
    "split-command", "split-command-store-on-verification",
    "get", "store-on-get-context",
]


def split(data, size):
    return [data[i:i + size] for i in range(0, len(data), size)]


class Probe:
    def __init__(self, args):
        self.args = args
        self.report = {
            "probe": args.probe,
            "established": False,
            "rejected": None,
            "contexts": [],
            "sent": None,
            "outcome": None,
            "status": None,
            "statuses": [],
            "abort": None,
            "released": False,
        }
        self.assoc = None
        self.instances = []
        self._abort_pdu = None
        self._file = dcmread(args.file) if args.file else None

    # -- what the probe needs from the DICOM file ------------------------------------

    @property
    def sop_class(self):
        return UID(self._file.SOPClassUID) if self._file else None

    @property
    def study_uid(self):
        if self.args.study_uid:
            return self.args.study_uid
        return str(self._file.StudyInstanceUID) if self._file else None

    def need_file(self):
        if self._file is None:
            raise SystemExit(f"--probe {self.args.probe} needs --file")

    # -- association -------------------------------------------------------------------

    def associate(self, contexts, roles=()):
        """Propose `contexts` (abstract syntaxes, in order: IDs 1, 3, 5, ...) and
        the role selection items `roles` (PS3.7 D.3.3.4)."""
        ae = AE(ae_title=self.args.aet)
        ae.acse_timeout = self.args.timeout
        ae.dimse_timeout = self.args.timeout
        # Longer than the DIMSE timeout, so that a peer that stays silent shows as a
        # timeout, not as pynetdicom's own idle abort.
        ae.network_timeout = 2 * self.args.timeout
        ae.maximum_pdu_size = 16384
        for abstract_syntax in contexts:
            ae.add_requested_context(abstract_syntax, TRANSFER_SYNTAXES)
        handlers = [
            (evt.EVT_PDU_RECV, self._on_pdu),
            (evt.EVT_C_STORE, self._on_c_store),
        ]
        assoc = ae.associate(self.args.host, self.args.port, ae_title=self.args.aec, ext_neg=list(roles), evt_handlers=handlers)
        self.assoc = assoc
        self.report["established"] = assoc.is_established
        if assoc.is_rejected and assoc.acceptor.primitive is not None:
            p = assoc.acceptor.primitive
            self.report["rejected"] = {"result": p.result, "source": p.result_source, "reason": p.diagnostic}
        if not assoc.is_established:
            self.report["outcome"] = "aborted" if self._abort_pdu else "not-established"
            return False
        rows = []
        for cx in assoc.accepted_contexts:
            rows.append({"id": cx.context_id, "abstractSyntax": str(cx.abstract_syntax), "result": 0,
                         "transferSyntax": str(cx.transfer_syntax[0]), "scuRole": cx.as_scu, "scpRole": cx.as_scp})
        for cx in assoc.rejected_contexts:
            rows.append({"id": cx.context_id, "abstractSyntax": str(cx.abstract_syntax), "result": cx.result,
                         "transferSyntax": None, "scuRole": None, "scpRole": None})
        self.report["contexts"] = sorted(rows, key=lambda r: r["id"])
        # The port the sidecar sees as the source: how a test finds this association's
        # audit record.
        try:
            self.report["localPort"] = assoc.dul.socket.socket.getsockname()[1]
        except (AttributeError, OSError):
            self.report["localPort"] = None
        return True

    def context(self, abstract_syntax, accepted=True):
        """The row of the first proposed context for `abstract_syntax` (accepted or not)."""
        for row in self.report["contexts"]:
            if row["abstractSyntax"] == abstract_syntax and (row["result"] == 0) == accepted:
                return row
        return None

    def _on_pdu(self, event):
        # The A-ABORT PDU itself: pynetdicom turns it into an A-ABORT or A-P-ABORT
        # indication, but source and reason are only on the PDU (PS3.8 9.3.8).
        if isinstance(event.pdu, A_ABORT_RQ):
            self._abort_pdu = event.pdu

    def _on_c_store(self, event):
        # C-GET sub-operations arrive as C-STORE-RQs on our SCP-role contexts (PS3.4 C.4.3).
        ds = event.dataset
        self.instances.append(str(getattr(ds, "SOPInstanceUID", "")))
        return 0x0000

    # -- sending -------------------------------------------------------------------------

    def encode_dataset(self, ds, context_row):
        """`ds` in the transfer syntax of `context_row`, or implicit VR little endian
        (the default, PS3.5 10.1) when the context has none (refused, unproposed)."""
        ts = UID(context_row["transferSyntax"]) if context_row and context_row["transferSyntax"] else ImplicitVRLittleEndian
        return BytesIO(encode(ds, ts.is_implicit_VR, ts.is_little_endian))

    def p_data_items(self, primitive, context_id, fragment):
        """The P-DATA primitives of one message: pynetdicom builds its command set
        (PS3.7 9.3, group length included); the fragmentation is ours. Command set
        fragments carry control header bit 0 (command), the last also bit 1 (last
        fragment); data set fragments bit 1 on the last only (PS3.8 E.2). Each PDV gets
        its own P-DATA-TF PDU."""
        message = _RQ_TO_MESSAGE[type(primitive)]()
        message.primitive_to_message(primitive)
        command = encode(message.command_set, True, True)  # PS3.7 6.3.1: implicit VR LE
        data = message.data_set.getvalue() if message.data_set is not None else b""
        command_pieces = split(command, fragment or len(command))
        peer_max = self.assoc.acceptor.maximum_length or 16384
        # 6 = the PDV item's length (4), its PCID and its control header (PS3.8 9.3.5.1)
        data_pieces = split(data, max(1, min(peer_max, 16384) - 6)) if data else []
        self.report["sent"] = {
            "command": COMMAND_NAMES[type(primitive)],
            "commandField": COMMAND_FIELDS[type(primitive)],
            "sopClass": str(primitive.AffectedSOPClassUID),
            "contextId": context_id,
            "commandBytes": len(command),
            "commandFragments": len(command_pieces),
            "datasetBytes": len(data),
        }
        items = []
        for n, piece in enumerate(command_pieces):
            items.append(self._pdata(context_id, (b"\x03" if n == len(command_pieces) - 1 else b"\x01") + piece))
        for n, piece in enumerate(data_pieces):
            items.append(self._pdata(context_id, (b"\x02" if n == len(data_pieces) - 1 else b"\x00") + piece))
        return items

    @staticmethod
    def _pdata(context_id, value):
        pdata = P_DATA()
        pdata.presentation_data_value_list.append((context_id, value))
        return pdata

    def exchange(self, primitive, context_id):
        """Send one request on `context_id` and wait for its final response, an
        abort, a close or the timeout."""
        assoc = self.assoc
        # The association's reactor thread would take our responses off the queue:
        # pause it as pynetdicom's own send_c_*() do.
        assoc._reactor_checkpoint.clear()
        while not assoc._is_paused and assoc.is_established:
            time.sleep(0.0001)
        try:
            for pdata in self.p_data_items(primitive, context_id, self.args.fragment):
                assoc.dul.send_pdu(pdata)
            deadline = time.monotonic() + self.args.timeout
            while True:
                cx_id, rsp = assoc.dimse.get_msg(block=True)
                if rsp is None:
                    # (None, None): the DUL saw an A-ABORT or the connection close
                    # (fsm AA-2/3/4), or the DIMSE timeout passed.
                    break
                status = getattr(rsp, "Status", None)
                if status is None:
                    continue  # a request from the peer; not ours to answer here
                self.report["statuses"].append(int(status))
                if int(status) not in PENDING:
                    self.report["status"] = int(status)
                    self.report["outcome"] = "response"
                    self.suboperations(rsp)
                    break
                if time.monotonic() > deadline:
                    break
        finally:
            assoc._reactor_checkpoint.set()
        self.settle()

    SUBOPERATIONS = ("NumberOfCompletedSuboperations", "NumberOfFailedSuboperations", "NumberOfWarningSuboperations")

    def suboperations(self, response):
        """C-GET and C-MOVE final responses count their sub-operations (PS3.7 9.1.3, 9.1.4).
        `response` is a primitive or a status Dataset: both answer getattr by keyword."""
        for key in self.SUBOPERATIONS:
            value = getattr(response, key, None)
            if value is not None:
                self.report[key[0].lower() + key[1:]] = int(value)

    def settle(self):
        """Name the outcome once the exchange is over. get_msg() gave (None, None) when
        the DUL saw an A-ABORT (fsm AA-3) or the connection close (AA-4), or when the
        DIMSE timeout passed; the A-ABORT PDU, if any, was recorded by _on_pdu before
        the state machine acted on it. Give the DUL thread a moment to finish first
        (it stops right after queuing (None, None))."""
        if self.report["outcome"] is None:
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline and self._abort_pdu is None and self.assoc.dul.is_alive():
                time.sleep(0.02)
        if self._abort_pdu is not None:
            self.report["abort"] = {"source": self._abort_pdu.source, "reason": self._abort_pdu.reason_diagnostic}
            self.report["outcome"] = self.report["outcome"] or "aborted"
        if self.report["outcome"] is None:
            self.report["outcome"] = "timeout" if self.assoc.dul.is_alive() else "closed"

    def finish(self):
        assoc = self.assoc
        if assoc is None:
            return
        if assoc.is_established:
            if self.report["outcome"] == "timeout":
                assoc.abort()
            else:
                assoc.release()
                self.report["released"] = bool(assoc.is_released)
        if self._abort_pdu is not None and self.report["abort"] is None:
            self.report["abort"] = {"source": self._abort_pdu.source, "reason": self._abort_pdu.reason_diagnostic}

    # -- the messages ----------------------------------------------------------------------

    def c_echo(self):
        p = C_ECHO()
        p.MessageID = 1
        p.AffectedSOPClassUID = VERIFICATION
        return p

    def c_store(self, context_row):
        self.need_file()
        p = C_STORE()
        p.MessageID = 1
        p.AffectedSOPClassUID = self.sop_class
        p.AffectedSOPInstanceUID = self._file.SOPInstanceUID
        p.Priority = 0
        p.DataSet = self.encode_dataset(self._file, context_row)
        return p

    def identifier(self):
        ds = Dataset()
        ds.QueryRetrieveLevel = "STUDY"
        ds.StudyInstanceUID = self.study_uid or ""
        return ds

    def c_find(self, context_row):
        p = C_FIND()
        p.MessageID = 1
        p.AffectedSOPClassUID = STUDY_FIND
        p.Priority = 0
        ds = self.identifier()
        ds.PatientID = ""
        p.Identifier = self.encode_dataset(ds, context_row)
        return p

    def c_move(self, context_row):
        if not self.args.move_destination:
            raise SystemExit(f"--probe {self.args.probe} needs --move-destination")
        p = C_MOVE()
        p.MessageID = 1
        p.AffectedSOPClassUID = STUDY_MOVE
        p.Priority = 0
        p.MoveDestination = self.args.move_destination
        p.Identifier = self.encode_dataset(self.identifier(), context_row)
        return p

    def send_on(self, row, primitive_for, context_id=None):
        """Send the message `primitive_for(row)` on `row`'s context ID (or `context_id`)."""
        if context_id is None and row is None:
            self.report["outcome"] = "not-sent"
            self.report["error"] = "no suitable presentation context in the AC"
            return
        self.exchange(primitive_for(row), context_id if context_id is not None else row["id"])

    # -- the probes --------------------------------------------------------------------------

    def run(self):
        name = self.args.probe
        if name in ("echo", "split-command"):
            if self.associate([VERIFICATION]):
                self.send_on(self.context(VERIFICATION), lambda row: self.c_echo())
        elif name == "store":
            self.need_file()
            if self.associate([VERIFICATION, self.sop_class]):
                self.send_on(self.context(self.sop_class), self.c_store)
        elif name == "find":
            if self.associate([STUDY_FIND]):
                self.send_on(self.context(STUDY_FIND), self.c_find)
        elif name == "move":
            if self.associate([STUDY_MOVE]):
                self.send_on(self.context(STUDY_MOVE), self.c_move)
        elif name in ("store-on-verification", "split-command-store-on-verification"):
            self.need_file()
            if self.associate([VERIFICATION]):
                self.send_on(self.context(VERIFICATION), self.c_store)
        elif name == "move-on-find":
            if self.associate([STUDY_FIND]):
                self.send_on(self.context(STUDY_FIND), self.c_move)
        elif name == "find-on-storage":
            self.need_file()
            if self.associate([self.sop_class]):
                self.send_on(self.context(self.sop_class), self.c_find)
        elif name == "pdata-on-refused-context":
            # Verification, the file's storage class, and a class nobody supports: behind
            # a sidecar that refuses storage the storage context is the refused one; a
            # bare PACS accepts storage but refuses the private class. Either way the
            # C-STORE goes on a context whose AC result is not 0.
            self.need_file()
            if self.associate([VERIFICATION, self.sop_class, UNSUPPORTED_SOP_CLASS]):
                row = self.context(self.sop_class, accepted=False) or self.context(UNSUPPORTED_SOP_CLASS, accepted=False)
                self.send_on(row, self.c_store)
        elif name == "pdata-on-unproposed-context":
            self.need_file()
            if self.associate([VERIFICATION]):
                self.send_on(None, self.c_store, context_id=self.args.context_id or UNPROPOSED_CONTEXT_ID)
        elif name == "get":
            self.need_file()
            if self.associate([STUDY_GET, self.sop_class], roles=[build_role(self.sop_class, scp_role=True)]):
                self.c_get()
        elif name == "store-on-get-context":
            self.need_file()
            if self.associate([STUDY_GET, self.sop_class], roles=[build_role(self.sop_class, scu_role=True, scp_role=True)]):
                # Whatever the AC granted (SCP role only, both, or a refusal): the point
                # is a C-STORE-RQ from the client on the context the C-GET set up.
                row = self.context(self.sop_class) or self.context(self.sop_class, accepted=False)
                self.send_on(row, self.c_store)
        self.finish()

    def c_get(self):
        """pynetdicom's own C-GET: it answers the C-STORE sub-operations on the SCP-role
        storage contexts while it waits for the C-GET responses (PS3.4 C.4.3)."""
        row = self.context(STUDY_GET)
        if row is None:
            self.report["outcome"] = "not-sent"
            self.report["error"] = "Study Root GET was not accepted"
            return
        self.report["sent"] = {"command": "C-GET-RQ", "commandField": 0x0010, "sopClass": str(STUDY_GET), "contextId": row["id"]}
        last = None
        for status, _identifier in self.assoc.send_c_get(self.identifier(), STUDY_GET):
            if status is None or "Status" not in status:
                break
            self.report["statuses"].append(int(status.Status))
            last = status
        if last is not None and int(last.Status) not in PENDING:
            self.report["status"] = int(last.Status)
            self.report["outcome"] = "response"
            self.suboperations(last)
        self.settle()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--probe", required=True, choices=PROBES)
    parser.add_argument("--aet", default="PYPROBE")
    parser.add_argument("--aec", default="PACS")
    parser.add_argument("--file", default="", help="a DICOM file: what store-like probes send; its study is what find/move/get ask for")
    parser.add_argument("--study-uid", default="", help="the study for find/move/get (default: the file's)")
    parser.add_argument("--move-destination", default="")
    parser.add_argument("--fragment", type=int, default=0, help="cut the command set into PDVs of this many bytes, one P-DATA-TF each")
    parser.add_argument("--context-id", type=int, default=0, help="pdata-on-unproposed-context: the ID to use (default 201)")
    parser.add_argument("--timeout", type=float, default=10)
    parser.add_argument("--debug", action="store_true", help="pynetdicom's debug log on stderr")
    args = parser.parse_args()
    if args.probe.startswith("split-command") and not args.fragment:
        args.fragment = 20
    if args.debug:
        debug_logger()

    probe = Probe(args)
    printed = threading.Lock()

    def say():
        with printed:
            if getattr(say, "done", False):
                return
            say.done = True
            sys.stdout.write(json.dumps(probe.report) + "\n")
            sys.stdout.flush()

    def watchdog():
        probe.report["outcome"] = probe.report["outcome"] or "timeout"
        probe.report["error"] = "watchdog: the probe did not finish"
        say()
        os._exit(3)

    timer = threading.Timer(3 * args.timeout + 5, watchdog)
    timer.daemon = True
    timer.start()
    code = 0
    try:
        probe.run()
    except SystemExit as exit_:
        probe.report["error"] = str(exit_)
        code = 2
    except Exception as error:  # report, never a stack trace instead of the JSON line
        probe.report["error"] = f"{type(error).__name__}: {error}"
        code = 1
        if probe.assoc is not None and probe.assoc.is_established:
            probe.assoc.abort()
    if args.probe == "get":
        probe.report["instancesReceived"] = len(probe.instances)
        probe.report["instances"] = probe.instances
    timer.cancel()
    say()
    sys.exit(code)


if __name__ == "__main__":
    main()
