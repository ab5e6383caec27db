#!/bin/sh
# A stand-in for ssh as Open MPI's launch agent (--mca plm_rsh_agent), for the two-host tests on
# loopback addresses: Open MPI calls it as `agent HOST COMMAND...` to start its daemon on HOST,
# as it would call ssh; this runs the command here, through a shell as sshd would.  Each "host"
# gets a session directory of its own, as a real host has its own /tmp: two daemons creating
# theirs in one /tmp at once can fail ("A call to mkdir was unable to create the desired
# directory ... File exists", seen once in CI).
host=$1
shift
base="${TMPDIR:-/tmp}/charlstm-mpi-host-$host-$(id -u)"
mkdir -p "$base"
OMPI_MCA_orte_tmpdir_base=$base
export OMPI_MCA_orte_tmpdir_base
exec sh -c "$*"
