#!/usr/bin/env python3
"""An independent format-1 implementation (python3 stdlib only) for the
byte-compatibility test in format/compat_test.go.

  compat.py write OUT KID KEYHEX   write an artifact with one page-aligned f32 section
  compat.py verify PATH KEYHEX     follow a pointer, check the container, the HMAC and
                                   the section alignment; print kid + header; exit 0/1
"""
import hashlib, hmac, json, os, struct, sys

def write(out, kid, key):
    vals, k = [0.5, 1.5, -2.0, 4.0], kid.encode()
    def header(off):
        sec = {"name": "scores", "dtype": "f32", "shape": [len(vals)], "offset": off, "length": 4 * len(vals)}
        return json.dumps({"recipe_name": "compat", "written_by": "compat.py",
                           "payload": {"layout_version": 1, "alignment": 4096, "sections": [sec]}},
                          separators=(",", ":")).encode()
    pre, off = 13 + len(k) + 32 + 4, 4096
    while pre + len(header(off)) > off:
        off += 4096
    h = header(off)
    payload = b"\0" * (off - pre - len(h)) + struct.pack("<%df" % len(vals), *vals)
    mac = hmac.new(key, k + h + payload, hashlib.sha256).digest()
    with open(out, "wb") as f:
        f.write(b"RECOTEM\0" + struct.pack("<HHB", 1, 0, len(k)) + k + mac + struct.pack("<I", len(h)) + h + payload)

def verify(path, key):
    d = open(path, "rb").read()
    if len(d) <= 512 and d.strip().endswith(b".recotem") and d[:8] != b"RECOTEM\0":
        d = open(os.path.join(os.path.dirname(path), d.strip().decode("ascii")), "rb").read()
    ver, res, klen = struct.unpack_from("<HHB", d, 8)
    if d[:8] != b"RECOTEM\0" or ver != 1 or res != 0 or not 1 <= klen <= 32:
        sys.exit("bad fixed fields")
    kid, p = d[13:13 + klen], 13 + klen
    (n,) = struct.unpack_from("<I", d, p + 32)
    hdr, payload = d[p + 36:p + 36 + n], d[p + 36 + n:]
    if not hmac.compare_digest(d[p:p + 32], hmac.new(key, kid + hdr + payload, hashlib.sha256).digest()):
        sys.exit("signature mismatch")
    header = json.loads(hdr)
    secs = sorted(header.get("payload", {}).get("sections", []), key=lambda s: s["offset"])
    pos = p + 36 + n
    for s in secs:
        if s["offset"] % 4096 or s["offset"] < pos or s["offset"] + s["length"] > len(d) or d[pos:s["offset"]].strip(b"\0"):
            sys.exit("section %s misplaced or padding not zero" % s["name"])
        pos = s["offset"] + s["length"]
    print("OK kid=%s sections=%d" % (kid.decode(), len(secs)))
    print(json.dumps(header, sort_keys=True))

if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3], bytes.fromhex(sys.argv[4]))
    else:
        verify(sys.argv[2], bytes.fromhex(sys.argv[3]))
