#include "lab/backoff.h"

#include <algorithm>
#include <cmath>

namespace podmeter::lab {

double RestartBackoff::OnExit(double started_at, double exited_at) {
  if (exited_at - started_at >= reset_after_) crashes_ = 0;
  ++crashes_;
  if (crashes_ == 1) return 0;
  return std::min(cap_, base_ * std::pow(2.0, crashes_ - 2));
}

}  // namespace podmeter::lab
