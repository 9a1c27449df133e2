// Skips a test where the CUDA runtime sees no device (CI machines), saying why.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "cuda/cuda_backend.h"

#define TRIT_REQUIRE_GPU()                                                                                 \
  do {                                                                                                     \
    std::string why_no_gpu;                                                                                \
    if (::trit::cuda::list_devices(&why_no_gpu).empty()) GTEST_SKIP() << "no CUDA device: " << why_no_gpu; \
  } while (0)
