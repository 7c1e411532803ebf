// The kubelet's container restart back-off (restartPolicy Always): the first restart is
// immediate, then 10 s, 20 s, 40 s … capped at 5 min; a container that ran for 10 min without
// exiting starts over. The base and cap are parameters so short lab profiles can scale them.
#pragma once

namespace podmeter::lab {

class RestartBackoff {
 public:
  RestartBackoff(double base_seconds = 10, double cap_seconds = 300, double reset_after = 600)
      : base_(base_seconds), cap_(cap_seconds), reset_after_(reset_after) {}

  /// The container exited at `exited_at` after running since `started_at`: seconds to wait.
  double OnExit(double started_at, double exited_at);

 private:
  double base_, cap_, reset_after_;
  int crashes_ = 0;
};

}  // namespace podmeter::lab
