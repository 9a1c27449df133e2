// trit: the command-line entry point; one file per subcommand beside this one.
#include <cstdio>

int main() {
  std::puts("trit: under construction");
  return 0;
}
