// The tool's stop signals: SIGINT (Ctrl-C), SIGTERM (`kill`, `docker stop`, Slurm), SIGHUP (a
// closed terminal or ssh session) and SIGUSR1 (a batch system's warning before its time limit;
// mpirun forwards it to every process) all ask a run to finish its step, save and exit 128 + the
// signal; a second one of any of them ends the process at once (saves are atomic, so no file is
// damaged).  SIGPIPE is ignored so that a closed pipe is a write error the tool handles.
#pragma once

#include <string>

namespace cli {

// Installs the handlers; call once, before the work that a stop should save.
void catch_stop_signals();

// The first stop signal received (SIGINT, SIGTERM, SIGHUP or SIGUSR1), or 0.
int stop_signal();

// "interrupted" (SIGINT), "terminated" (SIGTERM), "hung up" (SIGHUP), "asked to stop"
// (SIGUSR1): for the message.
std::string stop_reason(int signal);

}  // namespace cli
