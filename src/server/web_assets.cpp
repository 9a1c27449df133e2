// Looking up the embedded web chat files by name, and the Content-Type each is served with.
#include "server/web_assets.h"

namespace trit::server {

const WebAsset* find_web_asset(std::string_view name) {
  for (const WebAsset& asset : web_assets())
    if (asset.name == name) return &asset;
  return nullptr;
}

std::string_view content_type_for(std::string_view name) {
  auto ends_with = [&](std::string_view suffix) { return name.ends_with(suffix); };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  if (ends_with(".png")) return "image/png";
  return "application/octet-stream";
}

}  // namespace trit::server
