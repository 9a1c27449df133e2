// Stop strings for streamed text: text is released only once it can no longer be the start of a stop
// string, so a stop string split across tokens is never printed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace trit::sampling {

class StopStrings {
 public:
  explicit StopStrings(std::vector<std::string> stops);

  // Adds generated text; returns what may be printed now. After a stop string is seen, stopped()
  // is true and the returned text ends just before it.
  std::string push(std::string_view text);
  // The text held back at the end of generation.
  std::string flush();
  bool stopped() const { return stopped_; }
  // The stop string that ended the text (empty while not stopped).
  const std::string& matched() const { return matched_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
  std::string matched_;
};

}  // namespace trit::sampling
