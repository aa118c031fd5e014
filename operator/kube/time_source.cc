#include "operator/kube/time_source.h"

#include <thread>

namespace va::kube {

TimeSource TimeSource::steady() {
  return TimeSource{[] { return Clock::now(); },
                    [](Clock::duration duration) { std::this_thread::sleep_for(duration); }};
}

}  // namespace va::kube
