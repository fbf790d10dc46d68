#!/usr/bin/env python3
"""A minimal nfnetlink_queue listener over a raw netlink socket (no
libnetfilter_queue): binds queue QUEUE (NFQNL_CFG_CMD_BIND), copies packets
(NFQNL_COPY_PACKET, 128 bytes, as kube-network-policies asks), and answers
NF_ACCEPT for TCP to a port in ALLOW, NF_DROP for anything else, logging
"id proto src dst dport verdict" per packet to LOG. Runs until DEADLINE
seconds have passed. The message layouts are include/uapi/linux/netfilter/
nfnetlink_queue.h and nfnetlink.h.

usage: listener.py QUEUE ALLOW(comma list) LOG DEADLINE READY_FILE
"""
import select
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS = 1, 2
NFQA_PACKET_HDR, NFQA_VERDICT_HDR, NFQA_PAYLOAD = 1, 2, 10
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_PACKET = 2
NF_DROP, NF_ACCEPT = 0, 1

queue = int(sys.argv[1])
allow = {int(p) for p in sys.argv[2].split(",") if p}
log = open(sys.argv[3], "w", buffering=1)
deadline = time.time() + float(sys.argv[4])
ready = sys.argv[5]

sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
sock.bind((0, 0))
seq = 0


def attr(t, data):
    n = 4 + len(data)
    return struct.pack("=HH", n, t) + data + b"\0" * ((4 - n % 4) % 4)


def msg(mtype, payload, flags=NLM_F_REQUEST):
    global seq
    seq += 1
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(queue)) + payload
    head = struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | mtype, flags, seq, 0)
    return head + body


def config(payload):
    sock.send(msg(NFQNL_MSG_CONFIG, payload, NLM_F_REQUEST | NLM_F_ACK))
    ack = sock.recv(65536)
    _, t, _, _, _ = struct.unpack_from("=IHHII", ack)
    err = struct.unpack_from("=i", ack, 16)[0] if t == NLMSG_ERROR else 0
    if err != 0:
        sys.exit("config refused: errno %d" % -err)


config(attr(NFQA_CFG_CMD, struct.pack("=BBH", NFQNL_CFG_CMD_BIND, 0, 0)))
config(attr(NFQA_CFG_PARAMS, struct.pack(">IB", 128, NFQNL_COPY_PACKET)))
open(ready, "w").close()


def attrs(b, off, end):
    out = {}
    while off + 4 <= end:
        n, t = struct.unpack_from("=HH", b, off)
        if n < 4:
            break
        out[t & 0x7FFF] = b[off + 4 : off + n]
        off += (n + 3) & ~3
    return out


while time.time() < deadline:
    r, _, _ = select.select([sock], [], [], 0.2)
    if not r:
        continue
    b = sock.recv(65536)
    off = 0
    while off + 16 <= len(b):
        n, t, _, _, _ = struct.unpack_from("=IHHII", b, off)
        if n < 16:
            break
        if t == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
            a = attrs(b, off + 20, off + n)
            pid = struct.unpack(">I", a[NFQA_PACKET_HDR][:4])[0]
            p = a.get(NFQA_PAYLOAD, b"")
            proto, dport = p[9], 0
            ihl = (p[0] & 0x0F) * 4
            if proto in (6, 17) and len(p) >= ihl + 4:
                dport = struct.unpack(">H", p[ihl + 2 : ihl + 4])[0]
            ok = proto == 6 and dport in allow
            v = NF_ACCEPT if ok else NF_DROP
            src = socket.inet_ntoa(p[12:16])
            dst = socket.inet_ntoa(p[16:20])
            log.write("%d %d %s %s %d %s\n" % (pid, proto, src, dst, dport, "accept" if ok else "drop"))
            sock.send(msg(NFQNL_MSG_VERDICT, attr(NFQA_VERDICT_HDR, struct.pack(">II", v, pid))))
        off += (n + 3) & ~3
