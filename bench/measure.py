#!/usr/bin/env python3
"""measure.py OUT COMMAND [ARG ...] — runs COMMAND and appends one line to OUT:
`wall maxrss_kib user sys`, the fields of GNU time's `-f '%e %M %U %S'` (so every bench parser
reads either), but to the microsecond. GNU time prints whole hundredths of a second, and a
process of 0.15 s then moves by 7 % between two adjacent values: medians of such runs flip a
ratio across its target. Here wall comes from the monotonic clock around fork and wait, and
CPU and peak RSS from the child's own rusage (wait4), which the kernel keeps in microseconds.
Linux carries the peak RSS across exec, so a command's peak is never below this script's own
at the fork (about 14 MB; GNU time's is about 2 MB): every process the benchmarks measure
peaks far above that.
Exits with the command's status (128 + N when signal N ended it)."""
import os
import subprocess
import sys
import time


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__.split("\n")[0], file=sys.stderr)
        return 2
    out, command = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    child = subprocess.Popen(command)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)  # already reaped: Popen must not wait again
    with open(out, "a") as f:
        f.write(f"{wall:.6f} {usage.ru_maxrss} {usage.ru_utime:.6f} {usage.ru_stime:.6f}\n")
    code = child.returncode
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
