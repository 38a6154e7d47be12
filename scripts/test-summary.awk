# Summarises `go test -v` output for tier 2 of `make test`: each top-level
# test's result and time, every failed or skipped subtest, under each skip
# the last line that test logged (its reason), and go test's per-package
# ok/FAIL lines. The unfiltered output stays in the log file it reads.
/^=== (RUN|CONT|NAME) / { cur = $3; next }
/^=== / { next }
/^ *--- SKIP: / { print; if ($3 in last) print "        " last[$3]; next }
/^--- (PASS|FAIL): / || /^ +--- FAIL: / { print; next }
/^(ok|FAIL|panic:)[ \t]/ || /^FAIL$/ { print; next }
/^ +[^ ]+\.go:[0-9]+: / { line = $0; sub(/^ +/, "", line); last[cur] = line }
