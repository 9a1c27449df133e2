// Whether this thread's kernel launches use programmatic dependent launch (launch.cuh). Off unless a
// backend turns it on for a device that has it (sm_90 and later), around the launches it enqueues.
#pragma once

namespace trit::cuda {

bool pdl_launches();
void set_pdl_launches(bool on);

// Turns PDL launches on (when `on`) for a scope and restores the previous setting after it.
class PdlScope {
 public:
  explicit PdlScope(bool on) : previous_(pdl_launches()) { set_pdl_launches(on); }
  ~PdlScope() { set_pdl_launches(previous_); }
  PdlScope(const PdlScope&) = delete;
  PdlScope& operator=(const PdlScope&) = delete;

 private:
  bool previous_;
};

}  // namespace trit::cuda
