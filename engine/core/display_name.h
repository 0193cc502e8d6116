// Names that come from a file (tensor names, ZIP entries, metadata keys) are shown in error messages
// quoted and cut to a readable length: a crafted file must not fill the terminal or the GUI's log with a
// 5 000-character name (issue "foundations", 8). The cut backs off to a UTF-8 character boundary.
#pragma once
#include <cstddef>
#include <string>

namespace coalesce {

inline std::string quotedName(const std::string& name, std::size_t limit = 120) {
    if (name.size() <= limit) return "'" + name + "'";
    std::size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
    return "'" + name.substr(0, cut) + "…' (a name of " + std::to_string(name.size()) + " characters)";
}

}  // namespace coalesce
