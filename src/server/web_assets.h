// The files of the web chat page (src/server/web/), compiled into the binary by
// cmake/embed_assets.cmake, so `trit serve` needs nothing beside the executable.
#pragma once

#include <string_view>
#include <vector>

namespace trit::server {

struct WebAsset {
  std::string_view name;  // file name, e.g. "index.html"
  std::string_view data;
};

const std::vector<WebAsset>& web_assets();

// The asset named `name` (nullptr when there is none) and the Content-Type it is served with.
const WebAsset* find_web_asset(std::string_view name);
std::string_view content_type_for(std::string_view name);

}  // namespace trit::server
