// Names what a file looks like from its first bytes ("a PNG image", "a ZIP archive", "text"), so that
// "wrong kind of file" errors can say what the user actually gave us. Torch-free.
#pragma once
#include <string>

namespace coalesce {

std::string describeFileContent(const std::string& bytes);

}  // namespace coalesce
