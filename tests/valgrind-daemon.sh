#!/bin/sh
# Runs the daemon under valgrind: used as $BINMCPD by .ci/run so that the
# integration tests drive a valgrind-checked binmcpd. Any memory error or
# definite leak makes the daemon exit 99 (which the tests see) and leaves a
# non-empty log in $VALGRIND_LOG_DIR.
exec valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
    --error-exitcode=99 \
    --log-file="${VALGRIND_LOG_DIR:-/tmp}/binmcpd-valgrind.%p.log" \
    "${VG_DAEMON:?set VG_DAEMON to the daemon}" "$@"
