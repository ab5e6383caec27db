#!/bin/sh
# A stand-in for ssh as Open MPI's launch agent (--mca plm_rsh_agent), for the two-host tests on
# loopback addresses: Open MPI calls it as `agent HOST COMMAND...` to start its daemon on HOST,
# as it would call ssh; this drops HOST and runs the command here, through a shell as sshd would.
shift
exec sh -c "$*"
