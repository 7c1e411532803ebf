#include "lab/probe.h"

namespace podmeter::lab {

bool ProbeResult::Record(bool ok) {
  run_ = (run_ > 0 && last_ == ok) ? run_ + 1 : 1;
  last_ = ok;
  if (run_ >= (ok ? success_threshold_ : failure_threshold_)) result_ = ok;
  return result_;
}

void ProbeResult::Reset() {
  result_ = initial_;
  run_ = 0;
}

}  // namespace podmeter::lab
