// SIGINT and SIGTERM without a lost-wakeup window. A handler that sets a flag and a loop of
// `while (!flag) pause();` loses a signal that arrives between the check and pause(): the process
// then sleeps until the next signal (SIGKILL after the grace period). Here the signals are blocked
// before any thread starts (threads inherit the mask), so one that arrives early stays pending,
// and the main thread takes it with sigwait.
#pragma once

namespace podmeter {

/// Blocks SIGINT and SIGTERM in the calling thread and in every thread it starts afterwards.
/// Call first in main, before any thread exists.
void BlockStopSignals();

/// Waits until SIGINT or SIGTERM is pending (returns at once if one already is) and takes it;
/// returns its number. BlockStopSignals must have been called.
int WaitForStopSignal();

}  // namespace podmeter
