# Cross build for 64-bit ARM Linux with Debian's aarch64 toolchain (g++-aarch64-linux-gnu), linked
# statically so that qemu-aarch64 runs the binaries without a sysroot (scripts/test-arm.sh).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
# How CMake (gtest_discover_tests) runs target binaries: "max" has the dot product, fp16 and i8mm.
find_program(TRIT_QEMU_AARCH64 qemu-aarch64)
if(TRIT_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${TRIT_QEMU_AARCH64} -cpu max)
endif()
