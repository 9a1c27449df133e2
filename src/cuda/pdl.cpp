// The per-thread PDL launch switch (pdl.h).
#include "cuda/pdl.h"

namespace trit::cuda {
namespace {
thread_local bool pdl_on = false;
}

bool pdl_launches() { return pdl_on; }
void set_pdl_launches(bool on) { pdl_on = on; }

}  // namespace trit::cuda
